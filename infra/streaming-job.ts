import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Size, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DEFAULTS } from '../functions/config.js';
import type { Phase } from '../functions/runtime.js';
import { registryParameter } from '../functions/spec.js';
import { grantPhaseAccess, type JobPrefixes } from './job-access.js';
import { createJobBucket } from './job-bucket.js';
import { phaseFunctions } from './job-functions.js';
import { suppressJobNag } from './job-nag.js';
import { interpreterProblems, jobPrograms } from './job-programs.js';
import { jobStateMachine } from './job-state-machine.js';
import { addTriggers, type StreamingJobSchedule, type StreamingJobUploadTrigger } from './job-triggers.js';

export interface StreamingJobMemory {
  /** @default DEFAULTS.memoryMiB.map (1769: one full vCPU) */
  readonly map?: number;
  /** @default DEFAULTS.memoryMiB.reduce (1769: one full vCPU) */
  readonly reduce?: number;
  /** Plan, shuffle plan, commit and abort. @default DEFAULTS.memoryMiB.control (512) */
  readonly control?: number;
}

export interface StreamingJobProps {
  /** Path of the job module (a file whose default export is `defineJob(...)`). */
  readonly job: string;
  /**
   * More files and directories the job's stream programs need, besides those their commands
   * name (`mapper: 'python3 map.py'`) and the job's `files`, which are bundled anyway: paths
   * relative to the directory `cdk` runs in, lying in the job file's directory. The map and
   * reduce functions' bundles hold them at their place relative to the job file, as the local
   * engine finds them. @default none
   */
  readonly programs?: string[];
  /**
   * Lambda layers of the map and reduce functions: what their stream programs need that the
   * Node.js runtime lacks, e.g. a Python interpreter (docs/stream-programs.md, "In the cloud").
   * Without layers, a job whose commands call python, perl, ruby and the like fails at synth.
   * @default none
   */
  readonly layers?: lambda.ILayerVersion[];
  /** The name `startJob({ job })` and `streaming start` find it by (SSM `/streaming/jobs/<name>`). @default the construct's id */
  readonly jobName?: string;
  /** Where inputs, outputs and scratch live. @default a new private, encrypted, SSL-only bucket */
  readonly bucket?: s3.IBucket;
  /** Inputs the functions may read. @default DEFAULTS.prefixes.input ('input/') */
  readonly inputPrefix?: string;
  /** Outputs the functions may write. @default DEFAULTS.prefixes.output ('output/') */
  readonly outputPrefix?: string;
  /** Intermediate data. @default DEFAULTS.prefixes.scratch ('scratch/') */
  readonly scratchPrefix?: string;
  /** Scratch objects left behind (a job that was stopped) expire after this; only on a bucket this construct creates. @default Duration.days(DEFAULTS.scratchExpirationDays) */
  readonly scratchExpiration?: Duration;
  /** Memory per function in MiB. @default see StreamingJobMemory */
  readonly memorySize?: StreamingJobMemory;
  /** Longest run of one task attempt. @default Duration.minutes(15) */
  readonly timeout?: Duration;
  /** /tmp of map and reduce functions (spills, fetched ranges). @default Size.mebibytes(DEFAULTS.ephemeralStorageMiB) */
  readonly ephemeralStorageSize?: Size;
  /** Map input per task, unless a job's start names another. @default DEFAULTS.splitSize */
  readonly splitSize?: Size;
  /** Reduce partitions, unless the job or its start names another. @default the job's, else DEFAULTS.reducers */
  readonly reducers?: number;
  /**
   * Concurrent child executions of each Distributed Map (1-10,000), so concurrent invocations of
   * the map (then the reduce) function. Plan cuts the input for this many map tasks at once
   * (STREAMING_PARALLELISM: splits shrink toward the end, down to DEFAULTS.minSplitSize).
   * @default DEFAULTS.maxConcurrency (200), or reservedConcurrency when lower
   */
  readonly maxConcurrency?: number;
  /**
   * Reserved concurrency of the map and of the reduce function, each: guarantees the job that
   * many concurrent invocations and caps it there, so it never takes the account's whole quota.
   * It is taken out of the account's unreserved pool (Lambda keeps 100 unreserved), twice.
   * @default none: the functions share the account's unreserved concurrency
   */
  readonly reservedConcurrency?: number;
  /** Attempts of a failing task, the first included. @default DEFAULTS.taskAttempts */
  readonly taskAttempts?: number;
  /** First retry delay; doubles per attempt. @default Duration.seconds(DEFAULTS.retryIntervalSeconds) */
  readonly retryInterval?: Duration;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Run the job on every object created under `prefix` (an EventBridge rule on S3 "Object
   * Created"); the object `k` writes to `<outputPrefix><k>/`. `prefix` must lie under
   * `inputPrefix` and `outputPrefix` under the job's `outputPrefix`: objects jobs write never
   * start a job. @default no upload trigger
   */
  readonly onUpload?: StreamingJobUploadTrigger;
  /**
   * Run the job on a schedule (an EventBridge rule) over a fixed input; each run writes to
   * `<outputPrefix><scheduled time>/`, so runs never overwrite each other. @default no schedule
   */
  readonly schedule?: StreamingJobSchedule;
}

export type { StreamingJobSchedule, StreamingJobUploadTrigger } from './job-triggers.js';

/** The job's prefixes, defaults applied. */
export function jobPrefixes(
  props: Pick<StreamingJobProps, 'inputPrefix' | 'outputPrefix' | 'scratchPrefix'>,
): JobPrefixes {
  return {
    input: props.inputPrefix ?? DEFAULTS.prefixes.input,
    output: props.outputPrefix ?? DEFAULTS.prefixes.output,
    scratch: props.scratchPrefix ?? DEFAULTS.prefixes.scratch,
  };
}

/** Every problem with the props at once, so a stack is fixed in one round. */
export function streamingJobProblems(props: StreamingJobProps): string[] {
  const problems: string[] = [];
  if (!props.job) problems.push('job: give the path of the job module');
  else if (!existsSync(path.resolve(props.job))) problems.push(`job: ${props.job} does not exist`);
  for (const p of props.programs ?? [])
    if (!existsSync(path.resolve(p))) problems.push(`programs: ${p} does not exist`);
  const mc = props.maxConcurrency;
  if (mc !== undefined && !(Number.isInteger(mc) && mc >= 1 && mc <= 10_000))
    problems.push(`maxConcurrency must be 1-10000 (got ${mc})`);
  const rc = props.reservedConcurrency;
  if (rc !== undefined && !(Number.isInteger(rc) && rc >= 1))
    problems.push(`reservedConcurrency must be a whole number >= 1 (got ${rc})`);
  else if (rc !== undefined && mc !== undefined && mc > rc)
    problems.push(
      `maxConcurrency (${mc}) exceeds reservedConcurrency (${rc}): the extra child executions would only be throttled; lower maxConcurrency or raise reservedConcurrency`,
    );
  const r = props.reducers;
  if (r !== undefined && !(Number.isInteger(r) && r >= 0))
    problems.push(`reducers must be a whole number >= 0 (got ${r})`);
  const a = props.taskAttempts;
  if (a !== undefined && !(Number.isInteger(a) && a >= 1)) problems.push(`taskAttempts must be >= 1 (got ${a})`);
  for (const [name, p] of [
    ['inputPrefix', props.inputPrefix],
    ['outputPrefix', props.outputPrefix],
    ['scratchPrefix', props.scratchPrefix],
  ] as const)
    if (p !== undefined && (!p.endsWith('/') || p.startsWith('/')))
      problems.push(`${name} must end with "/" and not start with one (got "${p}")`);
  const { input, output, scratch } = jobPrefixes(props);
  if (props.onUpload) {
    const { prefix, outputPrefix } = props.onUpload;
    if (!prefix.startsWith(input))
      problems.push(`onUpload.prefix must lie under inputPrefix "${input}" (got "${prefix}")`);
    if (!outputPrefix.startsWith(output))
      problems.push(`onUpload.outputPrefix must lie under outputPrefix "${output}" (got "${outputPrefix}")`);
    for (const other of [output, scratch, outputPrefix])
      if (prefix.startsWith(other) || other.startsWith(prefix))
        problems.push(`onUpload.prefix "${prefix}" overlaps "${other}", where jobs write: a job would start itself`);
  }
  if (props.schedule) {
    if (props.schedule.inputPrefix && !props.schedule.inputPrefix.startsWith(input))
      problems.push(`schedule.inputPrefix must lie under inputPrefix "${input}"`);
    if (props.schedule.outputPrefix && !props.schedule.outputPrefix.startsWith(output))
      problems.push(`schedule.outputPrefix must lie under outputPrefix "${output}"`);
  }
  const t = props.timeout?.toSeconds();
  if (t !== undefined && (t < 1 || t > 900)) problems.push(`timeout must be 1 s to 15 min (got ${t} s)`);
  return problems;
}

/** The repository root (the folder holding package.json), from this file's place in source or dist. */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('StreamingJob cannot find its package root');
    dir = up;
  }
  return dir;
}

/**
 * A MapReduce job on AWS (DESIGN §3-4): one Lambda function per phase, bundled with esbuild with
 * the job inside, and a Standard state machine (Plan, Distributed Maps over the splits and the
 * reducers, Commit, Abort) whose definition is the same one the local engine runs. Each part is
 * made by its own piece: job-bucket, job-functions, job-access (least privilege), job-state-machine,
 * job-triggers, job-nag; this class applies the defaults and wires them.
 */
export class StreamingJob extends Construct {
  readonly bucket: s3.IBucket;
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Readonly<Record<Phase, nodejs.NodejsFunction>>;
  readonly inputPrefix: string;
  readonly outputPrefix: string;
  readonly scratchPrefix: string;
  readonly jobName: string;

  constructor(scope: Construct, id: string, props: StreamingJobProps) {
    super(scope, id);
    const problems = streamingJobProblems(props);
    // What the stream programs need, known by loading the job: a job that cannot run in the cloud fails here.
    const job = path.resolve(props.job);
    const programs = problems.length === 0 ? jobPrograms(job, props.programs) : undefined;
    if (programs)
      problems.push(...programs.problems, ...interpreterProblems(job, programs, (props.layers ?? []).length > 0));
    if (problems.length > 0) throw new Error(`Invalid StreamingJob "${id}": ${problems.join('; ')}.`);
    const prefixes = jobPrefixes(props);
    this.inputPrefix = prefixes.input;
    this.outputPrefix = prefixes.output;
    this.scratchPrefix = prefixes.scratch;
    this.jobName = props.jobName ?? id;
    const timeout = props.timeout ?? Duration.seconds(DEFAULTS.taskTimeoutSeconds);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const bucket = (this.bucket =
      props.bucket ??
      createJobBucket(this, prefixes, props.scratchExpiration ?? Duration.days(DEFAULTS.scratchExpirationDays)));

    const environment: Record<string, string> = {
      NODE_OPTIONS: '--enable-source-maps',
      STREAMING_SCRATCH: bucket.s3UrlForObject(prefixes.scratch),
      POWERTOOLS_SERVICE_NAME: 'streaming',
    };
    if (props.splitSize) environment.STREAMING_SPLIT_SIZE = String(props.splitSize.toBytes());
    if (props.reducers !== undefined) environment.STREAMING_REDUCERS = String(props.reducers);
    const maxConcurrency =
      props.maxConcurrency ?? Math.min(DEFAULTS.maxConcurrency, props.reservedConcurrency ?? Number.POSITIVE_INFINITY);
    // Plan cuts the input for this many map tasks at once (shrinking splits, reduce task sizes).
    environment.STREAMING_PARALLELISM = String(maxConcurrency);
    const ephemeralStorage = props.ephemeralStorageSize ?? Size.mebibytes(DEFAULTS.ephemeralStorageMiB);
    // The shuffle plan refuses a partition no reduce task's /tmp can hold, before any reducer runs.
    environment.STREAMING_REDUCE_TMP_BYTES = String(ephemeralStorage.toBytes());
    const memory = { ...DEFAULTS.memoryMiB, ...props.memorySize };
    const fns = phaseFunctions(this, {
      job,
      programs: programs?.copies ?? [],
      layers: props.layers ?? [],
      root: packageRoot(),
      memoryMiB: {
        plan: memory.control,
        map: memory.map,
        shuffle: memory.control,
        reduce: memory.reduce,
        commit: memory.control,
        abort: memory.control,
      },
      timeout,
      ephemeralStorage,
      logRetention,
      environment,
      ...(props.reservedConcurrency !== undefined ? { reservedConcurrency: props.reservedConcurrency } : {}),
    });
    this.functions = fns;
    grantPhaseAccess(fns, bucket, prefixes);

    const machine = jobStateMachine(this, fns, {
      bucket,
      scratchPrefix: prefixes.scratch,
      logRetention,
      maxConcurrency,
      taskAttempts: props.taskAttempts ?? DEFAULTS.taskAttempts,
      retryIntervalSeconds: (props.retryInterval ?? Duration.seconds(DEFAULTS.retryIntervalSeconds)).toSeconds(),
      taskTimeoutSeconds: timeout.toSeconds(),
    });
    this.stateMachine = machine.stateMachine;
    suppressJobNag(this, prefixes, machine);
    addTriggers(
      this,
      { readers: [fns.plan, fns.abort], stateMachine: this.stateMachine, bucket, prefixes },
      { onUpload: props.onUpload, schedule: props.schedule },
    );
    this.publishRegistry();
  }

  /** What clients need to start and follow runs, found by name (SSM `/streaming/jobs/<name>`). */
  private publishRegistry(): void {
    new ssm.StringParameter(this, 'Registry', {
      parameterName: registryParameter(this.jobName),
      description: `Streaming job ${this.jobName}: where its state machine and data are`,
      stringValue: Stack.of(this).toJsonString({
        name: this.jobName,
        stateMachineArn: this.stateMachine.stateMachineArn,
        bucket: this.bucket.bucketName,
        inputPrefix: this.inputPrefix,
        outputPrefix: this.outputPrefix,
        scratch: this.bucket.s3UrlForObject(this.scratchPrefix),
      }),
    });
  }
}
