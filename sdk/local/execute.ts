/**
 * Executes a Streaming state machine definition, the cloud's own, on this machine with
 * aws-local-stepfunctions: Distributed Maps are bridged (bridge.ts) and every Task state calls
 * `invoke` with its resource ARN, as Step Functions would invoke that Lambda function. The
 * local engine binds the ARNs to its worker pool; the cloud harness (test/cloud/) binds the
 * deployed template's ARNs to the bundled handlers in emulated Lambda environments. One
 * executor, so both run the flow the same way.
 *
 * With `payloadLimitBytes` it enforces Step Functions' quota on payloads as the service does:
 * every state's input and output, every task's input and result, and every Distributed Map's
 * collected result (unless a ResultWriter sends it to S3) must fit, else the execution fails
 * with States.DataLimitExceeded, which no Retry or Catch matches (`States.ALL` included). In a
 * Distributed Map's child the child execution fails with it, which fails the Map.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StateMachineDefinition } from '../../infra/definition.js';
import {
  BRIDGE_FIELDS,
  bridgeDistributedMaps,
  bridgedNames,
  childStates,
  MAP_RESULTS_RESOURCE,
  type MapResultsInput,
  READ_ITEMS_RESOURCE,
  taskStates,
} from './bridge.js';
import { localFolder } from './folder.js';
import './polyfill.js';

/** An S3 location as ItemReader and ResultWriter name them (`file://` for local paths). */
export interface ObjectLocation {
  Bucket: string;
  Key: string;
}

const LOCAL_STATE_MACHINE_ARN = 'arn:aws:states:local:000000000000:stateMachine:local';

export interface ExecuteOptions {
  /** Runs the task of a resource (a Lambda ARN) on its input. Throw an Error whose `name` is the error type. */
  invoke: (resource: string, input: unknown) => Promise<unknown>;
  /** Reads the items an ItemReader names (`{Bucket, Key}`): a JSON array. */
  readItems: (location: unknown) => Promise<unknown>;
  /** Writes an object a ResultWriter names; needed when a Distributed Map of the definition has one. */
  writeObject?: (location: ObjectLocation, body: string) => Promise<void>;
  /** Iterations in flight per Map. */
  concurrency: number;
  /** Wait before each retry, in ms, instead of the definition's intervals. @default the definition's */
  retryDelayMs?: number;
  /** Step Functions' payload quota (256 KiB), enforced as the service enforces it. @default none */
  payloadLimitBytes?: number;
  /** How a failed child fails its Distributed Map (bridge.ts). @default 'child' */
  childFailures?: 'aws' | 'child';
  /** Each failed child of a Distributed Map, with its own error (what `aws` keeps out of the Map's). */
  onChildFailure?: (map: string, error: { Error: string; Cause?: string }) => void;
  /** Named in the MapRunArn of a ResultWriter's manifest. @default a local ARN */
  stateMachineArn?: string;
  /** The execution's ARN, as the context object gives it (`$$.Execution.Id`). @default a new one under stateMachineArn */
  executionArn?: string;
  /** With payloadLimitBytes: the size of every payload checked, by state name (for figures). */
  onPayload?: (state: string, bytes: number) => void;
}

export interface Execution {
  result: Promise<unknown>;
  abort(): void;
}

/** An error as the interpreter matches it: `name` is the error, and whether Retry and Catch may match it. */
export class StatesError extends Error {
  constructor(
    name: string,
    message: string,
    readonly isRetryable = true,
    readonly isCatchable = true,
  ) {
    super(message);
    this.name = name;
  }
}

/** What Step Functions says when a payload passes its quota. */
export const DATA_LIMIT_EXCEEDED = 'States.DataLimitExceeded';
/** What a Distributed Map fails with when a child fails (no ToleratedFailure* set: any child). */
export const EXCEED_TOLERATED_FAILURE_THRESHOLD = 'States.ExceedToleratedFailureThreshold';

/**
 * aws-local-stepfunctions: the slim bundle `npm run build` makes beside this module
 * (scripts/bundle-interpreter.mjs: without the Lambda client and validator it imports but the
 * engine never calls, ~0.1 s of start-up), or the package itself when running from source.
 */
export async function loadInterpreter(): Promise<typeof import('aws-local-stepfunctions')> {
  const bundle = path.join(localFolder(import.meta.url), 'interpreter.js');
  if (existsSync(bundle)) return import(pathToFileURL(bundle).href);
  // Named through a variable so that bundlers leave it out: the SDK is bundled into every job
  // bundle and Lambda function, which never run the interpreter, and an installed package does
  // not have it (it is a devDependency; the built package carries interpreter.js).
  const name = 'aws-local-stepfunctions';
  return import(name);
}

const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x) ?? 'null');
const withoutBridgeFields = (state: Record<string, unknown>) => {
  const clean = { ...state };
  for (const f of BRIDGE_FIELDS) delete clean[f];
  return clean;
};

export async function executeDefinition(
  definition: StateMachineDefinition,
  input: unknown,
  options: ExecuteOptions,
): Promise<Execution> {
  const { StateMachine } = await loadInterpreter();
  const limit = options.payloadLimitBytes;
  if (limit !== undefined && bytes(input) > limit)
    throw new StatesError(
      'InvalidExecutionInput',
      `The execution input is ${bytes(input)} bytes, over the ${limit}-byte quota of Step Functions.`,
      false,
      false,
    );
  const local = bridgeDistributedMaps(definition, {
    concurrency: options.concurrency,
    childFailures: options.childFailures ?? 'child',
  });
  const children = childStates(definition);

  /** A payload over the quota: in a child execution it fails the child (and so its Map); elsewhere, the execution. */
  let violation: StatesError | undefined;
  const overLimit = (what: string, size: number, inChild: boolean) =>
    new StatesError(
      DATA_LIMIT_EXCEEDED,
      `${what} is ${size} bytes, exceeding the maximum number of bytes service limit (${limit}).`,
      false,
      inChild,
    );
  const check = (state: string, what: string, value: unknown, inChild: boolean) => {
    if (limit === undefined) return;
    const size = bytes(value);
    options.onPayload?.(state, size);
    if (size > limit) throw overLimit(what, size, inChild);
  };

  const mapResults = async ({ map, state, writer, resultPath, outputPath }: MapResultsInput): Promise<unknown> => {
    const failure = state.__failure as { Error: string; Cause?: string } | undefined;
    if (failure) {
      options.onChildFailure?.(map, failure);
      throw new StatesError(
        EXCEED_TOLERATED_FAILURE_THRESHOLD,
        'The specified tolerated failure threshold was exceeded',
      );
    }
    const results = state.__results as unknown[];
    let result: unknown = results;
    if (writer) result = await writeMapResults(map, writer, state.__items as unknown[], results);
    else check(`${map} (collected result)`, `The result of the Map state '${map}'`, results, false);
    // The Map's own ResultPath and OutputPath, applied by the interpreter itself to the Map's input.
    const place = new StateMachine(
      {
        StartAt: 'Place',
        States: {
          Place: {
            Type: 'Pass',
            Result: result,
            ...(resultPath !== undefined ? { ResultPath: resultPath } : {}),
            ...(outputPath !== undefined ? { OutputPath: outputPath } : {}),
            End: true,
          },
        },
      } as never,
      { validationOptions: { noValidate: true } },
    );
    return place.run(withoutBridgeFields(state) as never).result;
  };

  /** Writes what Step Functions' ResultWriter writes (manifest.json, SUCCEEDED_0.json); returns what the Map returns. */
  const writeMapResults = async (
    map: string,
    writer: { Bucket: string; Prefix?: string },
    items: unknown[],
    results: unknown[],
  ) => {
    if (!options.writeObject)
      throw new Error(`Distributed Map "${map}" has a ResultWriter: the executor needs writeObject.`);
    const runId = randomUUID();
    const machine = options.stateMachineArn ?? LOCAL_STATE_MACHINE_ARN;
    const mapRunArn = `${machine.replace(':stateMachine:', ':mapRun:')}/${map}:${runId}`;
    const dir = path.posix.join(writer.Prefix ?? '', runId);
    const now = new Date().toISOString();
    // One record per child as Step Functions writes them (its Input here is the item, before ItemSelector).
    const succeeded = results.map((output, i) => ({
      ExecutionArn: `${mapRunArn.replace(':mapRun:', ':execution:')}:${i}`,
      Input: JSON.stringify(items[i]),
      InputDetails: { Included: true },
      Name: String(i),
      Output: JSON.stringify(output),
      OutputDetails: { Included: true },
      RedriveCount: 0,
      RedriveStatus: 'NOT_REDRIVABLE',
      StartDate: now,
      StopDate: now,
      Status: 'SUCCEEDED',
    }));
    const file = { Bucket: writer.Bucket, Key: path.posix.join(dir, 'SUCCEEDED_0.json') };
    const body = JSON.stringify(succeeded);
    await options.writeObject(file, body);
    const manifest = { Bucket: writer.Bucket, Key: path.posix.join(dir, 'manifest.json') };
    await options.writeObject(
      manifest,
      JSON.stringify({
        DestinationBucket: writer.Bucket,
        MapRunArn: mapRunArn,
        ResultFiles: { FAILED: [], PENDING: [], SUCCEEDED: [{ Key: file.Key, Size: Buffer.byteLength(body) }] },
      }),
    );
    return { MapRunArn: mapRunArn, ResultWriterDetails: manifest };
  };

  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [state, resource] of taskStates(local)) {
    if (options.retryDelayMs !== undefined) retryIntervalOverrides[state] = options.retryDelayMs;
    const inChild = children.has(state);
    const run =
      resource === READ_ITEMS_RESOURCE
        ? options.readItems
        : resource === MAP_RESULTS_RESOURCE
          ? (i: unknown) => mapResults(i as MapResultsInput)
          : async (i: unknown) => {
              check(state, `The input of the task '${state}'`, i, inChild);
              const result = await options.invoke(resource, i);
              check(state, `The state/task '${resource}' returned a result that`, result, inChild);
              return result;
            };
    handlers[state] =
      limit === undefined
        ? run
        : async (i) => {
            // A payload found over the quota by the event log below stops the execution before any further task.
            await new Promise((r) => setImmediate(r));
            if (violation) throw violation;
            return run(i);
          };
  }
  // The interpreter's types describe ASL more narrowly than our plain-JSON builder; it is the same object.
  // Its validation (asl-validator compiling JSON schemas, ~0.13 s of every run's start-up) is
  // skipped: the definition is the engine's own, and test/definition.test.ts validates it.
  const machine = new StateMachine(local as never, {
    validationOptions: { checkPaths: false, checkArn: false, noValidate: true },
  });
  const executionArn =
    options.executionArn ??
    `${(options.stateMachineArn ?? LOCAL_STATE_MACHINE_ARN).replace(':stateMachine:', ':execution:')}:${randomUUID()}`;
  const execution = machine.run(input as never, {
    context: { Execution: { Id: executionArn, Name: executionArn.slice(executionArn.lastIndexOf(':') + 1) } },
    overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
  });
  if (limit === undefined) return { result: execution.result, abort: () => execution.abort() };

  // Every state's input and output, as the service checks them at each transition (the bridge's
  // own fields are not the service's: a bridged Map's input is its reader's, its output its results Task's).
  let failViolation: (e: Error) => void = () => {};
  const violated = new Promise<never>((_, reject) => {
    failViolation = reject;
  });
  violated.catch(() => {});
  const internal = new Set<string>();
  for (const state of Object.keys(definition.States))
    if (local.States[bridgedNames(state).items]) {
      const n = bridgedNames(state);
      internal.add(`in:${n.items}`).add(`out:${n.items}`).add(`in:${n.results}`).add(`out:${n.reader}`);
    }
  (async () => {
    for await (const event of execution.eventLogs) {
      if (violation) return;
      const e = event as { type: string; index?: number; state?: { name: string; input?: unknown; output?: unknown } };
      if (!e.state) continue;
      const inChild = e.index !== undefined && children.has(e.state.name);
      const payloads: [string, unknown][] =
        e.type === 'StateEntered'
          ? [[`in:${e.state.name}`, e.state.input]]
          : e.type === 'StateExited'
            ? [[`out:${e.state.name}`, e.state.output]]
            : [];
      for (const [key, value] of payloads) {
        if (internal.has(key) || inChild) continue; // a child's task payloads are checked in its handler
        const size = bytes(value);
        const name = key.slice(key.indexOf(':') + 1).replace(/ \((items|results)\)$/, '');
        options.onPayload?.(name, size);
        if (limit !== undefined && size > limit) {
          const side = key.startsWith('in:') ? 'input' : 'output';
          violation = overLimit(`The ${side} of the state '${e.state.name}'`, size, false);
          failViolation(Object.assign(new Error(violation.message), { name: 'ExecutionError', cause: violation }));
          execution.abort();
          return;
        }
      }
    }
  })();
  const result = Promise.race([execution.result, violated]).then((out) => {
    if (violation) throw Object.assign(new Error(violation.message), { name: 'ExecutionError', cause: violation });
    return out;
  });
  return { result, abort: () => execution.abort() };
}
