/**
 * Executes a Streaming state machine definition, the cloud's own, on this machine with
 * aws-local-stepfunctions: Distributed Maps are bridged (bridge.ts) and every Task state calls
 * `invoke` with its resource ARN, as Step Functions would invoke that Lambda function. The
 * local engine binds the ARNs to its worker pool; tests bind the deployed template's ARNs to
 * the Lambda handlers themselves. One executor, so both run the flow the same way.
 */
import { existsSync } from 'node:fs';
import type { StateMachineDefinition } from '../../infra/definition.js';
import { bridgeDistributedMaps, READ_ITEMS_RESOURCE, taskStates } from './bridge.js';
import './polyfill.js';

export interface ExecuteOptions {
  /** Runs the task of a resource (a Lambda ARN) on its input. Throw an Error whose `name` is the error type. */
  invoke: (resource: string, input: unknown) => Promise<unknown>;
  /** Reads the items an ItemReader names (`{Bucket, Key}`): a JSON array. */
  readItems: (location: unknown) => Promise<unknown>;
  /** Iterations in flight per Map. */
  concurrency: number;
  /** Wait before each retry, in ms, instead of the definition's intervals. @default the definition's */
  retryDelayMs?: number;
}

export interface Execution {
  result: Promise<unknown>;
  abort(): void;
}

/**
 * aws-local-stepfunctions: the slim bundle `npm run build` makes beside this module
 * (scripts/bundle-interpreter.mjs: without the Lambda client and validator it imports but the
 * engine never calls, ~0.1 s of start-up), or the package itself when running from source.
 */
async function loadInterpreter(): Promise<typeof import('aws-local-stepfunctions')> {
  const bundle = new URL('./interpreter.js', import.meta.url);
  if (bundle.protocol === 'file:' && existsSync(bundle)) return import(bundle.href);
  // Named through a variable so that bundlers leave it out: the SDK is bundled into every job
  // bundle and Lambda function, which never run the interpreter, and an installed package does
  // not have it (it is a devDependency; the built package carries interpreter.js).
  const name = 'aws-local-stepfunctions';
  return import(name);
}

export async function executeDefinition(
  definition: StateMachineDefinition,
  input: unknown,
  options: ExecuteOptions,
): Promise<Execution> {
  const { StateMachine } = await loadInterpreter();
  const local = bridgeDistributedMaps(definition, { concurrency: options.concurrency });
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  for (const [state, resource] of taskStates(local)) {
    if (options.retryDelayMs !== undefined) retryIntervalOverrides[state] = options.retryDelayMs;
    handlers[state] = resource === READ_ITEMS_RESOURCE ? options.readItems : (i) => options.invoke(resource, i);
  }
  // The interpreter's types describe ASL more narrowly than our plain-JSON builder; it is the same object.
  // Its validation (asl-validator compiling JSON schemas, ~0.13 s of every run's start-up) is
  // skipped: the definition is the engine's own, and test/definition.test.ts validates it.
  const machine = new StateMachine(local as never, {
    validationOptions: { checkPaths: false, checkArn: false, noValidate: true },
  });
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides },
  });
  return { result: execution.result, abort: () => execution.abort() };
}
