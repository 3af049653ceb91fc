/**
 * The cloud harness: runs what `cdk deploy` deploys, on this machine, under AWS's limits.
 *
 * - Code: the synthesized cloud assembly of test/cloud/app.ts, bundled by esbuild as for a
 *   deployment (assembly.ts); each function's handler is run from its asset directory in
 *   emulated Lambda execution environments (lambda.ts) with its template's environment,
 *   memory, timeout and ephemeral storage.
 * - Flow: each state machine's definition is taken from the template (tokens resolved) and
 *   executed by the product's own executor (sdk/local/execute.ts: aws-local-stepfunctions and
 *   the Distributed Map bridge), every Lambda ARN bound to its emulated function.
 * - Data: S3 is a real S3 protocol server (s3rver, or any wrapper of it); every principal (each
 *   function's role, the state machine's role) reaches it through a front door that enforces
 *   its role's identity policies from the template (iam.ts) and records what each grant was used
 *   for.
 *
 * One harness per test file: `await CloudHarness.start({ server })`, then
 * `harness.job(JOBS.wordCount).execute(spec)`, and `await harness.close()` in afterAll.
 */
import { randomUUID } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { PHASES, type Phase } from '../../functions/runtime.js';
import { S3Storage } from '../../functions/storage/s3.js';
import { fromItemLocation, type ItemLocation } from '../../functions/storage/uri.js';
import { MAP_RUN_LABEL, type StateMachineDefinition } from '../../infra/definition.js';
import { definitionFromTemplate, type PhysicalNames, resolveTokens } from '../../infra/template-definition.js';
import type { DeployedJob as RegistryEntry } from '../../sdk/cloud/registry.js';
import type { ExecutionDescription, MapRunProgress, StepFunctionsApi } from '../../sdk/cloud/stepfunctions.js';
import { executeDefinition } from '../../sdk/local/execute.js';
import { type CloudAssembly, cloudAssembly, constructPath, type FunctionSpec } from './assembly.js';
import { evaluate, resolvedRoleStatements, S3Guard, type Statement } from './iam.js';
import { EmulatedFunction, type LambdaError } from './lambda.js';

export { JOBS } from './app.js';

const REGION = 'us-east-1';

/** The S3 server the functions reach (test/s3-server.ts, or a wrapper that injects faults). */
export interface S3Endpoint {
  endpoint: string;
  createBucket(name: string): Promise<void>;
}

export interface HarnessOptions {
  server: S3Endpoint;
  /** Map iterations in flight per Distributed Map (Step Functions would run up to MaxConcurrency). @default 4 */
  concurrency?: number;
  /** Wait before each retry in ms, instead of the definition's intervals (jitter included). @default 5 */
  retryDelayMs?: number;
  /** Print every function's log lines as they come (they are always kept: `job.logs`). @default $STREAMING_HARNESS_LOGS */
  printLogs?: boolean;
}

/** Step Functions' quota on a state's or task's input or output: 256 KiB of UTF-8 JSON. */
export const PAYLOAD_LIMIT_BYTES = 256 * 1024;

/**
 * A limit of the deployment scaled down for test speed, where the test stays honest: the
 * functions see the scaled value everywhere they can look (statfs of /tmp, ENOSPC), and the
 * test says so.
 */
export interface Scaled {
  /** Every function's /tmp, instead of the template's EphemeralStorage. */
  ephemeralBytes?: number;
}

/**
 * Failures the harness cannot make the functions produce themselves, injected where Lambda
 * would report them: `before` runs in place of a failed invocation (its throw is the function's
 * error), `after` fails an invocation that completed (the function did its writes and then its
 * response was lost), `duplicate` runs every invocation of a phase twice at once (the first
 * answer counts), as an at-least-once delivery would.
 */
export interface Faults {
  before?: (phase: Phase, input: Record<string, unknown>) => void | Promise<void>;
  after?: (phase: Phase, input: Record<string, unknown>) => void | Promise<void>;
  duplicate?: Phase[];
}

export interface HarnessExecution {
  /** The execution's output, or its failure: an Error whose `cause` has the failing state's error name. */
  result: Promise<unknown>;
  abort(): void;
  /** Invocations per phase so far. */
  attempts: Partial<Record<Phase, number>>;
  /** The largest payload (input or output, task payloads and a Map's collected result included) of each state so far, in bytes. */
  payloads: Map<string, number>;
  /** Each Distributed Map's run so far, its items counted as DescribeMapRun counts them. */
  mapRuns: MapRunProgress[];
}

/** A failed task as Step Functions sees it: `name` is `Error` (the Lambda errorType), `message` is `Cause`. */
export class LambdaTaskError extends Error {
  constructor(readonly document: LambdaError) {
    super(JSON.stringify(document));
    this.name = document.errorType;
  }
}

export class CloudHarness {
  readonly guard: S3Guard;
  private readonly jobs = new Map<string, DeployedJob>();
  private readonly buckets = new Map<string, string>();

  private constructor(
    readonly assembly: CloudAssembly,
    readonly options: HarnessOptions,
  ) {
    this.guard = new S3Guard(options.server.endpoint);
  }

  static async start(options: HarnessOptions): Promise<CloudHarness> {
    return new CloudHarness(await cloudAssembly(), options);
  }

  /**
   * A deployed StreamingJob by construct path (JOBS); its bucket is created on the S3 server on
   * first use. With `scaled`, a deployment of its own whose limits are scaled down (same bucket).
   */
  async job(jobPath: string, scaled: Scaled = {}): Promise<DeployedJob> {
    const key = `${jobPath} ${JSON.stringify(scaled)}`;
    let job = this.jobs.get(key);
    if (!job) {
      job = await DeployedJob.deploy(this, jobPath, scaled);
      this.jobs.set(key, job);
    }
    return job;
  }

  /** Bucket logical id → the name it gets on the S3 server: the job's construct id, lower-cased. */
  bucketName(stack: string, logicalId: string, path: string): string {
    const key = `${stack}/${logicalId}`;
    let name = this.buckets.get(key);
    if (!name) {
      name = path.split('/').slice(-2, -1)[0]!.toLowerCase();
      if ([...this.buckets.values()].includes(name)) name = `${name}-${logicalId.toLowerCase()}`.slice(0, 63);
      this.buckets.set(key, name);
    }
    return name;
  }

  /** Resolves once no invocation of any job is in flight (the tasks a failed Map left running included). */
  async idle(): Promise<void> {
    for (const job of this.jobs.values()) await job.idle();
  }

  async close(): Promise<void> {
    for (const job of this.jobs.values()) job.close();
    await this.guard.close();
  }
}

/** One StreamingJob of the assembly, deployed into the harness. */
export class DeployedJob {
  private constructor(
    private readonly harness: CloudHarness,
    /** Construct path (JOBS). */
    readonly path: string,
    readonly definition: StateMachineDefinition,
    readonly functions: Record<Phase, EmulatedFunction>,
    private readonly byArn: Map<string, Phase>,
    /** What the job's SSM parameter holds (`startJob({ job })` finds it by name). */
    readonly registry: RegistryEntry,
    readonly stateMachineArn: string,
    /** The job's bucket on the S3 server. */
    readonly bucket: string,
    private readonly stateMachineStatements: Statement[],
    /** S3 as the state machine's role reaches it (ItemReader, ResultWriter). */
    private readonly itemStorage: S3Storage,
    /** Every function's log lines, newest last. */
    readonly logs: { phase: Phase; line: string }[],
  ) {
    this.closed.catch(() => {});
  }

  /** Each child of a Distributed Map that failed, with its own error (the Map reports States.ExceedToleratedFailureThreshold). */
  readonly childFailures: { map: string; error: { Error: string; Cause?: string } }[] = [];
  /** The largest payload seen per state (input or output, task payloads included), in bytes. */
  readonly largestPayloads = new Map<string, number>();

  /** Invocations in flight (the tasks of stopped executions run on, as Lambda invocations do). */
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly executions = new Set<() => void>();
  private close_: (e: Error) => void = () => {};
  /** Rejects when the harness closes: every task still waiting settles with it. */
  private readonly closed = new Promise<never>((_, reject) => {
    this.close_ = reject;
  });

  static async deploy(harness: CloudHarness, jobPath: string, scaled: Scaled): Promise<DeployedJob> {
    const [stackName] = jobPath.split('/') as [string];
    const stack = harness.assembly.stacks[stackName];
    if (!stack) throw new Error(`No stack ${stackName} in the cloud assembly`);
    const template = stack.template;
    const under = (id: string) => constructPath(template.Resources[id]!, id).startsWith(`${jobPath}/`);
    const ids = (type: string) =>
      Object.keys(template.Resources).filter((id) => template.Resources[id]!.Type === type && under(id));
    const [machineId] = ids('AWS::StepFunctions::StateMachine');
    if (!machineId) throw new Error(`No state machine under ${jobPath}`);
    const physical: PhysicalNames = (id, attr, r) => {
      if (r.Type !== 'AWS::S3::Bucket') return undefined;
      const name = harness.bucketName(stackName, id, constructPath(r, id));
      return attr === 'Arn' ? `arn:aws:s3:::${name}` : attr === undefined ? name : undefined;
    };
    const resolve = (x: unknown) => resolveTokens(x, template, physical);
    const arnOf = (id: string) => resolve({ 'Fn::GetAtt': [id, 'Arn'] }) as string;

    const bucketIds = ids('AWS::S3::Bucket').filter(
      (id) => !constructPath(template.Resources[id]!, id).includes('AccessLogs'),
    );
    for (const id of bucketIds)
      await harness.options.server.createBucket(resolve({ Ref: id }) as string).catch((e: Error) => {
        if (!/BucketAlready/.test(e.name)) throw e;
      });

    const smProps = template.Resources[machineId]!.Properties!;
    const smRoleId = (smProps.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const smStatements = resolvedRoleStatements(template, smRoleId, physical);
    const smDoor = await harness.guard.open({ name: `${jobPath}/StateMachineRole`, statements: smStatements });
    const itemStorage = new S3Storage(
      new S3Client({
        endpoint: smDoor,
        forcePathStyle: true,
        region: REGION,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    );

    const logs: { phase: Phase; line: string }[] = [];
    const print = harness.options.printLogs ?? process.env.STREAMING_HARNESS_LOGS === '1';
    const functions = {} as Record<Phase, EmulatedFunction>;
    const byArn = new Map<string, Phase>();
    for (const spec of stack.functions.filter((f) => f.path.startsWith(`${jobPath}/`))) {
      const phase = spec.handler.split('.').pop() as Phase;
      if (!PHASES.includes(phase)) continue;
      const arn = arnOf(spec.logicalId);
      const statements = resolvedRoleStatements(template, spec.roleId, physical);
      const door = await harness.guard.open({ name: `${jobPath}/${phase}`, statements });
      const config = lambdaConfig(spec, arn, resolve, door);
      if (scaled.ephemeralBytes !== undefined) config.ephemeralBytes = scaled.ephemeralBytes;
      functions[phase] = new EmulatedFunction(config, (line) => {
        logs.push({ phase, line });
        if (logs.length > 20_000) logs.splice(0, 10_000);
        if (print) process.stderr.write(`[${jobPath}/${phase}] ${line}\n`);
      });
      byArn.set(arn, phase);
    }
    const missing = PHASES.filter((p) => !functions[p]);
    if (missing.length) throw new Error(`${jobPath} has no function for ${missing.join(', ')}`);

    const definition = definitionFromTemplate(template, arnOf, {
      logicalId: machineId,
      physical,
    }) as StateMachineDefinition;
    const [paramId] = ids('AWS::SSM::Parameter');
    const registry = JSON.parse(resolve(template.Resources[paramId!]!.Properties!.Value) as string) as RegistryEntry;
    return new DeployedJob(
      harness,
      jobPath,
      definition,
      functions,
      byArn,
      registry,
      resolve({ Ref: machineId }) as string,
      resolve({ Ref: bucketIds[0] }) as string,
      smStatements,
      itemStorage,
      logs,
    );
  }

  /** Starts an execution of the job's state machine on `input` (a job spec, or a trigger's event); `executionArn` is its `$$.Execution.Id` (default: a new one). */
  async execute(input: unknown, faults: Faults = {}, executionArn?: string): Promise<HarnessExecution> {
    const attempts: Partial<Record<Phase, number>> = {};
    const payloads = new Map<string, number>();
    const mapRuns: MapRunProgress[] = [];
    /** A child that succeeded counts in its Map's newest run (Map Runs of one execution run one after another). */
    const succeeded = (phase: Phase) => {
      const label = phase === 'map' ? MAP_RUN_LABEL.map : phase === 'reduce' ? MAP_RUN_LABEL.reduce : undefined;
      const run = mapRuns.findLast((r) => r.label === label);
      if (run) run.succeeded++;
    };
    const task = async (resource: string, event: unknown) => {
      const phase = this.byArn.get(resource);
      if (!phase) throw new Error(`No function of ${this.path} has the ARN ${resource}`);
      // The state machine's role must be allowed to invoke it, as Lambda checks.
      const need = { action: 'lambda:InvokeFunction', resource };
      const decision = evaluate(this.stateMachineStatements, need);
      this.harness.guard.recordUse(`${this.path}/StateMachineRole`, decision, need);
      if (!decision.allowed)
        throw new LambdaTaskError({
          errorType: 'Lambda.AWSLambdaException',
          errorMessage: `User: ${this.path}/StateMachineRole is not authorized to perform: lambda:InvokeFunction on resource: ${resource}`,
        });
      attempts[phase] = (attempts[phase] ?? 0) + 1;
      const input = event as Record<string, unknown>;
      try {
        await faults.before?.(phase, input);
      } catch (e) {
        throw new LambdaTaskError(documentOf(e));
      }
      const fn = this.functions[phase];
      const call = () => fn.invoke(event);
      const outcome = faults.duplicate?.includes(phase) ? (await Promise.all([call(), call()]))[0]! : await call();
      if (!outcome.ok) throw new LambdaTaskError(outcome.error);
      try {
        await faults.after?.(phase, input);
      } catch (e) {
        throw new LambdaTaskError(documentOf(e));
      }
      succeeded(phase);
      return outcome.result;
    };
    const invoke = (resource: string, event: unknown) => {
      const running = task(resource, event);
      this.inflight.add(running);
      const forget = () => this.inflight.delete(running);
      running.then(forget, forget);
      return Promise.race([running, this.closed]);
    };
    const execution = await executeDefinition(this.definition, input, {
      invoke,
      readItems: async (location) => {
        const uri = fromItemLocation(location as ItemLocation);
        const items = JSON.parse((await this.itemStorage.readAll(uri)).toString('utf8')) as unknown[];
        // The map phase reads the splits; the reduce phase, the shuffle plan's reducers.
        const label = uri.endsWith('/splits.json') ? MAP_RUN_LABEL.map : MAP_RUN_LABEL.reduce;
        mapRuns.push({ label, started: Date.now(), succeeded: 0, total: items.length });
        return items;
      },
      writeObject: (location, body) => this.itemStorage.write(fromItemLocation(location), body),
      concurrency: this.harness.options.concurrency ?? 4,
      retryDelayMs: this.harness.options.retryDelayMs ?? 5,
      payloadLimitBytes: PAYLOAD_LIMIT_BYTES,
      childFailures: 'aws',
      onChildFailure: (map, error) => this.childFailures.push({ map, error }),
      onPayload: (state, size) => {
        for (const largest of [payloads, this.largestPayloads])
          largest.set(state, Math.max(size, largest.get(state) ?? 0));
      },
      stateMachineArn: this.stateMachineArn,
      ...(executionArn ? { executionArn } : {}),
    });
    const abort = () => execution.abort();
    this.executions.add(abort);
    const result = execution.result.finally(() => this.executions.delete(abort));
    result.catch(() => {});
    return { result, abort, attempts, payloads, mapRuns };
  }

  /** Resolves once no invocation of this job is in flight (stopped executions' tasks included). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /**
   * Step Functions' StartExecution / DescribeExecution / StopExecution for this job's state
   * machine, each execution run by `execute` (what `startJob` and job handles call).
   */
  stepFunctions(faults?: Faults): StepFunctionsApi & { starts: unknown[] } {
    const executions = new Map<string, ExecutionDescription & { abort?: () => void; mapRuns?: MapRunProgress[] }>();
    const starts: unknown[] = [];
    return {
      starts,
      startExecution: async (arn, name, input) => {
        if (arn !== this.stateMachineArn) throw new Error(`StateMachineDoesNotExist: ${arn}`);
        starts.push(input);
        const executionArn = `${arn.replace(':stateMachine:', ':execution:')}:${name}`;
        const e: ExecutionDescription & { abort?: () => void; mapRuns?: MapRunProgress[] } = {
          status: 'RUNNING',
          input: JSON.stringify(input),
        };
        executions.set(executionArn, e);
        const { result, abort, mapRuns } = await this.execute(input, faults, executionArn);
        e.abort = abort;
        e.mapRuns = mapRuns;
        result.then(
          (out) => Object.assign(e, { status: 'SUCCEEDED', output: JSON.stringify(out) }),
          (err: Error & { cause?: Error }) => {
            if (e.status !== 'ABORTED')
              Object.assign(e, {
                status: 'FAILED',
                error: err.cause?.name ?? err.name,
                cause: err.cause?.message ?? err.message,
              });
          },
        );
        return executionArn;
      },
      describeExecution: async (executionArn) => {
        const found = executions.get(executionArn);
        if (!found) throw new Error(`ExecutionDoesNotExist: ${executionArn}`);
        const { abort: _, mapRuns: __, ...d } = found;
        return d;
      },
      // ListMapRuns and DescribeMapRun: the newest run of each label.
      mapRuns: async (executionArn) => {
        const found = executions.get(executionArn);
        if (!found) throw new Error(`ExecutionDoesNotExist: ${executionArn}`);
        const newest = new Map<string, MapRunProgress>();
        for (const r of found.mapRuns ?? []) newest.set(r.label, { ...r });
        return [...newest.values()];
      },
      stopExecution: async (executionArn) => {
        const e = executions.get(executionArn)!;
        e.status = 'ABORTED';
        e.abort?.();
      },
    };
  }

  /** The job's registry entry, as `startJob({ job, registry })` takes it. */
  registryLookup = async (name: string): Promise<RegistryEntry> => {
    if (name !== this.registry.name) throw new Error(`No deployed job named "${name}"`);
    return this.registry;
  };

  /** Stops every execution, settles every invocation still waiting, ends every environment. */
  close(): void {
    for (const abort of this.executions) abort();
    this.close_(new Error(`The harness closed while a task of ${this.path} was running`));
    for (const fn of Object.values(this.functions)) fn.close();
  }
}

function documentOf(e: unknown): LambdaError {
  const err = e instanceof Error ? e : new Error(String(e));
  return { errorType: err.name, errorMessage: err.message, trace: (err.stack ?? '').split('\n') };
}

function lambdaConfig(spec: FunctionSpec, arn: string, resolve: (x: unknown) => unknown, s3Endpoint: string) {
  const environment = Object.fromEntries(Object.entries(spec.environment).map(([k, v]) => [k, String(resolve(v))]));
  return {
    name: spec.logicalId,
    arn,
    assetDir: spec.assetDir,
    handler: spec.handler,
    environment,
    memoryMiB: spec.memoryMiB,
    timeoutSeconds: spec.timeoutSeconds,
    ephemeralBytes: spec.ephemeralMiB * 2 ** 20,
    s3Endpoint,
    region: REGION,
  };
}

/** A name no other run of the file uses (outputs, job ids). */
export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;
