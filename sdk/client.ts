import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
/**
 * Starting and following cloud jobs (DESIGN §4): `startJob()` starts an execution of a deployed
 * job's state machine and returns a handle to follow it, read its results, or cancel it.
 */

import { JobCancelledError, JobFailedError, ObjectNotFoundError, StreamingError } from '../functions/errors.js';
import { abort, type FailedMarker } from '../functions/phases/abort.js';
import type { JobManifest } from '../functions/phases/commit.js';
import type { Counters } from '../functions/phases/env.js';
import { layout, newJobId, type RunContext } from '../functions/spec.js';
import { StorageRouter } from '../functions/storage/index.js';
import { joinUri, normalizeUri } from '../functions/storage/uri.js';
import { MAP_RUN_LABEL } from '../infra/definition.js';
import { type JobRegistry, ssmRegistry } from './cloud/registry.js';
import { awsStepFunctions, type StepFunctionsApi } from './cloud/stepfunctions.js';

export interface StartJobOptions {
  /** The deployed job's name (found through its SSM parameter), or give `stateMachineArn` and `scratch`. */
  job?: string;
  stateMachineArn?: string;
  /** Scratch prefix of the deployment (with `stateMachineArn`). */
  scratch?: string;
  input: string | string[];
  output: string;
  reducers?: number;
  splitSize?: number;
  params?: Record<string, string>;
  overwrite?: boolean;
  /** Runs only this step (from 0) of a multi-step job, as a job of its own. @default every step, in order */
  step?: number;
  /** Fail on invalid UTF-8 in the input instead of reading it as U+FFFD. @default false */
  strictUtf8?: boolean;
  /** Hadoop job properties (`-D name=value`), over the job's own `jobconf`. @default none */
  jobconf?: Record<string, string>;
  /** Environment variables of the stream programs, over the job's `env` (Hadoop's `-cmdenv`). @default none */
  cmdenv?: Record<string, string>;
  /** Execution name and job id. @default `<job>-<time>-<random>` */
  name?: string;
  /** @default AWS Step Functions from the standard configuration */
  stepFunctions?: StepFunctionsApi;
  /** @default the SSM registry */
  registry?: JobRegistry;
  storage?: StorageRouter;
}

export type JobState = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

export interface JobStatus {
  id: string;
  state: JobState;
  phase: 'plan' | 'map' | 'reduce' | 'commit' | 'done';
  map: { done: number; total: number | undefined };
  reduce: { done: number; total: number | undefined };
  /** The job's counters, summed once, at the end: present once the job succeeded (from its manifest). */
  counters?: Counters;
  /** Of a multi-step job: the running step (from 0) and the number of steps; map, reduce and counters are that step's. */
  step?: { index: number; of: number };
}

export interface OutputRecord {
  key: unknown;
  value: unknown;
}

export interface JobHandle {
  readonly id: string;
  /** The Step Functions execution (cloud jobs). */
  readonly executionArn?: string;
  readonly output: string;
  /**
   * Where the job is. A cloud job's status costs a fixed number of requests whatever its number
   * of tasks: DescribeExecution, one or two small GETs (plan.json), ListMapRuns and a
   * DescribeMapRun per phase (docs/starting-jobs.md).
   */
  status(): Promise<JobStatus>;
  /** Resolves with the manifest when the job succeeds; throws JobFailedError / JobCancelledError otherwise. */
  wait(options?: {
    onProgress?: (s: JobStatus) => void;
    signal?: AbortSignal;
    intervalMs?: number;
  }): Promise<JobManifest>;
  /** The output records, parts in order, streamed (never a whole part in memory). */
  results(): AsyncIterable<OutputRecord>;
  summary(): Promise<JobManifest>;
  /** Stops the job: no _SUCCESS; `_FAILED` says cancelled; parts and scratch removed. */
  cancel(): Promise<void>;
}

export async function startJob(options: StartJobOptions): Promise<JobHandle> {
  const sfn = options.stepFunctions ?? awsStepFunctions();
  let stateMachineArn = options.stateMachineArn;
  let scratch = options.scratch;
  if (!stateMachineArn) {
    if (!options.job) throw new StreamingError('Give the deployed job’s name (job) or its stateMachineArn.');
    const deployed = await (options.registry ?? ssmRegistry())(options.job);
    stateMachineArn = deployed.stateMachineArn;
    scratch = deployed.scratch;
  }
  if (!scratch)
    throw new StreamingError('Give the deployment’s scratch prefix with stateMachineArn (or start the job by name).');
  const id = options.name ?? newJobId(options.job ?? 'job');
  const spec = {
    jobId: id,
    input: [options.input].flat(),
    output: normalizeUri(options.output),
    scratch,
    ...(options.reducers !== undefined ? { reducers: options.reducers } : {}),
    ...(options.splitSize !== undefined ? { splitSize: options.splitSize } : {}),
    ...(options.params ? { params: options.params } : {}),
    ...(options.overwrite ? { overwrite: true } : {}),
    ...(options.step !== undefined ? { step: options.step } : {}),
    ...(options.strictUtf8 ? { strictUtf8: true } : {}),
    ...(options.jobconf ? { jobconf: options.jobconf } : {}),
    ...(options.cmdenv ? { cmdenv: options.cmdenv } : {}),
  };
  const executionArn = await sfn.startExecution(stateMachineArn, id, spec);
  return new CloudJobHandle(
    id,
    executionArn,
    spec.output,
    joinUri(normalizeUri(scratch), id),
    sfn,
    options.storage ?? new StorageRouter(),
  );
}

/** A handle on a job started earlier (e.g. by `streaming start`), from its execution ARN. */
export async function attachJob(
  executionArn: string,
  options: { stepFunctions?: StepFunctionsApi; storage?: StorageRouter } = {},
): Promise<JobHandle> {
  const sfn = options.stepFunctions ?? awsStepFunctions();
  const d = await sfn.describeExecution(executionArn);
  const spec = JSON.parse(d.input ?? '{}') as { jobId?: string; output?: string; scratch?: string };
  if (!spec.jobId || !spec.output || !spec.scratch)
    throw new StreamingError(
      `Execution ${executionArn} was not started by startJob (its input names no jobId, output and scratch).`,
    );
  return new CloudJobHandle(
    spec.jobId,
    executionArn,
    spec.output,
    joinUri(normalizeUri(spec.scratch), spec.jobId),
    sfn,
    options.storage ?? new StorageRouter(),
  );
}

/** Consecutive failed polls (network errors) before wait() gives up. */
const POLL_ATTEMPTS = 5;
/** Attempts of one status() read. */
const READ_ATTEMPTS = 3;
/** How far a Map Run's start (Step Functions' clock) may seem to precede the plan it runs (Lambda's clock). */
const CLOCK_SLACK_MS = 2000;

const TERMINAL: Record<string, JobState> = {
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  TIMED_OUT: 'TIMED_OUT',
  ABORTED: 'CANCELLED',
};

class CloudJobHandle implements JobHandle {
  constructor(
    readonly id: string,
    readonly executionArn: string,
    readonly output: string,
    /** This job's own scratch prefix. */
    private readonly scratch: string,
    private readonly sfn: StepFunctionsApi,
    private readonly storage: StorageRouter,
  ) {}

  private get run(): Pick<RunContext, 'jobId' | 'output' | 'scratch' | 'keepScratch'> {
    return { jobId: this.id, output: this.output, scratch: this.scratch, keepScratch: false };
  }

  async status(): Promise<JobStatus> {
    // A connection dropped mid-read (the job may be rewriting what is read) is read again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readStatus();
      } catch (e) {
        if (attempt >= READ_ATTEMPTS || e instanceof StreamingError) throw e;
      }
    }
  }

  /**
   * Task counts from the Distributed Maps' own item counts (DescribeMapRun), never from
   * listing scratch: a bounded number of requests however many tasks the job has.
   */
  private async readStatus(): Promise<JobStatus> {
    const d = await this.sfn.describeExecution(this.executionArn);
    const state = TERMINAL[d.status] ?? 'RUNNING';
    const s: JobStatus = {
      id: this.id,
      state,
      phase: 'plan',
      map: { done: 0, total: undefined },
      reduce: { done: 0, total: undefined },
    };
    if (state === 'SUCCEEDED') {
      const m = await this.summary();
      s.phase = 'done';
      s.map = { done: m.map.tasks, total: m.map.tasks };
      s.reduce = { done: m.reduce.tasks, total: m.reduce.tasks };
      s.counters = m.counters;
      return s;
    }
    let run = this.run as RunContext;
    let plan = await this.planOf(run);
    // A multi-step job: its plan names the running step, whose own plan has its task counts.
    if (plan?.job) {
      run = plan.job;
      s.step = { index: run.step, of: run.steps };
      plan = await this.planOf(run);
    }
    if (plan) {
      const runs = await this.sfn.mapRuns(this.executionArn);
      // Map Runs of an earlier step of a multi-step job started before this step was planned.
      const since = (plan.planned ?? 0) - CLOCK_SLACK_MS;
      const map = runs.find((r) => r.label === MAP_RUN_LABEL.map && r.started >= since);
      const reduce = map && runs.find((r) => r.label === MAP_RUN_LABEL.reduce && r.started >= map.started);
      s.map = { done: map?.succeeded ?? 0, total: plan.mapTasks };
      s.reduce = { done: reduce?.succeeded ?? 0, total: reduce?.total ?? plan.reducers };
      s.phase = s.map.done < plan.mapTasks ? 'map' : s.reduce.done < (s.reduce.total ?? 0) ? 'reduce' : 'commit';
    }
    if (state !== 'RUNNING') s.phase = 'done';
    return s;
  }

  private async planOf(
    run: Pick<RunContext, 'scratch'>,
  ): Promise<{ mapTasks: number; reducers: number; planned?: number; job?: RunContext } | undefined> {
    try {
      return await this.storage.readJson(layout.plan(run));
    } catch (e) {
      if (!(e instanceof ObjectNotFoundError)) throw e;
      return undefined;
    }
  }

  async wait(
    options: { onProgress?: (s: JobStatus) => void; signal?: AbortSignal; intervalMs?: number } = {},
  ): Promise<JobManifest> {
    let failures = 0;
    for (;;) {
      if (options.signal?.aborted) throw new JobCancelledError('Stopped waiting (the job goes on; cancel() stops it).');
      let s: JobStatus;
      try {
        s = await this.status();
        failures = 0;
      } catch (e) {
        // A dropped connection while polling says nothing about the job: poll again, a few times.
        if (++failures >= POLL_ATTEMPTS || e instanceof StreamingError) throw e;
        await new Promise((r) => setTimeout(r, options.intervalMs ?? 2000));
        continue;
      }
      options.onProgress?.(s);
      if (s.state === 'SUCCEEDED') return this.summary();
      if (s.state !== 'RUNNING') throw await this.failure(s.state);
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 2000));
    }
  }

  private async failure(state: JobState): Promise<Error> {
    const d = await this.sfn.describeExecution(this.executionArn);
    let marker: FailedMarker | undefined;
    try {
      marker = await this.storage.readJson<FailedMarker>(layout.failed(this.output));
    } catch {}
    if (state === 'CANCELLED')
      return new JobCancelledError(`Job ${this.id} was cancelled; ${this.output} holds no result.`);
    let cause: { errorType?: string; errorMessage?: string } = {};
    try {
      cause = JSON.parse(d.cause ?? '{}');
    } catch {
      cause = { errorMessage: d.cause ?? '' };
    }
    const type = marker?.error ?? cause.errorType ?? d.error ?? state;
    const message = marker?.message ?? cause.errorMessage ?? `The execution ended ${state}.`;
    return new JobFailedError(message, type, this.output, marker?.stack?.join('\n'), marker !== undefined);
  }

  async summary(): Promise<JobManifest> {
    return this.storage.readJson<JobManifest>(layout.manifest(this.output));
  }

  async *results(): AsyncIterable<OutputRecord> {
    yield* readResults(this.storage, await this.summary());
  }

  async cancel(): Promise<void> {
    await this.sfn.stopExecution(this.executionArn, 'Cancelled by the user.');
    // A stopped execution runs no Catch, so the client does Abort's work itself (for a
    // multi-step job, on the step that was running: Abort also clears the steps' scratch).
    const job = (await this.planOf(this.run))?.job ?? (this.run as RunContext);
    await abort(
      { storage: this.storage, attempt: 'cancel', tmpDir: '' },
      {
        job,
        error: {
          Error: 'JobCancelledError',
          Cause: JSON.stringify({ errorType: 'JobCancelledError', errorMessage: 'The job was cancelled.' }),
        },
      },
    );
  }
}

/** Streams a completed job's records, parts in order, a line at a time. */
export async function* readResults(storage: StorageRouter, manifest: JobManifest): AsyncIterable<OutputRecord> {
  for (const part of manifest.parts) {
    let carry = '';
    const decoder = new TextDecoder();
    const raw = storage.for(part.uri).read(part.uri);
    // Parts of a job with compressed output (mapreduce.output.fileoutputformat.compress) are gzip.
    const bytes = part.uri.endsWith('.gz') ? Readable.from(raw).pipe(createGunzip()) : raw;
    for await (const chunk of bytes) {
      const text = carry + decoder.decode(chunk, { stream: true });
      const lines = text.split('\n');
      carry = lines.pop()!;
      for (const line of lines) yield parseLine(manifest.format, line);
    }
    carry += decoder.decode();
    if (carry !== '') yield parseLine(manifest.format, carry);
  }
}

/** tsv fields are text (a JSON-quoted field, written for text holding a tab or newline, is unquoted); jsonl is typed; a text line is a key. */
function parseLine(format: string, line: string): OutputRecord {
  if (format === 'jsonl') return JSON.parse(line) as OutputRecord;
  if (format === 'text') return { key: line, value: null };
  const tab = line.startsWith('"') ? endOfQuoted(line) : line.indexOf('\t');
  const field = (f: string) => (f.startsWith('"') && f.endsWith('"') && f.length > 1 ? JSON.parse(f) : f);
  return { key: field(line.slice(0, tab)), value: field(line.slice(tab + 1)) };
}

function endOfQuoted(line: string): number {
  for (let i = 1; i < line.length; i++) {
    if (line[i] === '\\') i++;
    else if (line[i] === '"') return i + 1;
  }
  return line.indexOf('\t');
}
