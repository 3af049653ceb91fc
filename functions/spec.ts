import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { DEFAULTS } from './config.js';
import { InvalidJobError } from './errors.js';
import { type AnyJob, hasReduce, type InputFormat, type OutputFormat, ownReducers, type Params } from './job.js';
import { envName, type JobConf, jobConfProblems, mergeJobConf, resolveJobConf, type StreamConf } from './jobconf.js';
import { GLOB, inputUri, isWithin, joinUri, normalizeUri } from './storage/uri.js';

/** What starts a job: the state machine's input once a trigger's event is normalised. */
export interface JobSpec {
  /** Input files, directories/prefixes or globs (`s3://`, `file://` or plain paths). */
  input: string[];
  /** Output directory/prefix. */
  output: string;
  /** Where intermediate data goes. @default $STREAMING_SCRATCH (set on deployed functions), else the OS temporary directory */
  scratch?: string;
  /** @default the job's `reducers`, else DEFAULTS.reducers */
  reducers?: number;
  /** @default DEFAULTS.splitSize */
  splitSize?: number;
  /** @default DEFAULTS.sortBufferBytes */
  sortBufferBytes?: number;
  /**
   * Tasks that can run at once (the local engine's workers). When set (and over 1), splits
   * shrink toward the end of the input (plan.ts, shrinkingSplitSizes: never below
   * DEFAULTS.minSplitSize), so a run on a few large files uses every worker and the workers
   * finish together where some bytes take longer than others, and reduce tasks are sized so none
   * idles. @default unset: splitSize alone decides; in the cloud Plan still cuts the input for the
   * deployment's MaxConcurrency (ResolvedSpec.mapConcurrency)
   */
  parallelism?: number;
  params?: Params;
  /**
   * Hadoop job properties (`-D name=value`), over the job's own `jobconf`. Unknown names are
   * an InvalidJobError. @default none
   */
  jobconf?: JobConf;
  /** Environment variables of the stream programs, over the job's `env` (Hadoop's `-cmdenv`). @default none */
  cmdenv?: Record<string, string>;
  /** More files for the stream programs' task directory, besides the job's `files` (local runs only). @default none */
  files?: string[];
  /** Replace an output that holds a completed job. @default false */
  overwrite?: boolean;
  /** @default DEFAULTS.keepScratch */
  keepScratch?: boolean;
  /** Fail a job on invalid UTF-8 in its input instead of reading it as U+FFFD. @default false */
  strictUtf8?: boolean;
  /** @default a new unique id */
  jobId?: string;
  /**
   * Runs only this step of a multi-step job (definePipeline), from 0, as a job of its own (input
   * and output as given). @default unset: every step, in order
   */
  step?: number;
  /** Set by Plan and Commit while a multi-step job runs its steps (not by callers). */
  pipeline?: PipelineContext;
}

/** A multi-step job on its way through its steps (DESIGN §2; docs/design-notes.md). */
export interface PipelineContext {
  /** The id of the whole run; step i runs as job `<jobId>-<i>`. */
  jobId: string;
  /** What the pipeline reads (steps with `input.from: 'pipeline'` read it too). */
  input: string[];
  /** Where the last step writes. */
  output: string;
  /**
   * The whole run's scratch prefix: it holds `plan.json` naming the running step (for clients
   * following the job) and, under `steps/`, what the steps before the last write.
   */
  scratch: string;
  /** The caller's params; each step after the first also gets the previous step's counters and output. */
  params: Params;
  overwrite: boolean;
  /** The caller's other options, applied to every step. */
  options: Pick<
    JobSpec,
    | 'reducers'
    | 'splitSize'
    | 'sortBufferBytes'
    | 'parallelism'
    | 'scratch'
    | 'keepScratch'
    | 'strictUtf8'
    | 'jobconf'
    | 'cmdenv'
    | 'files'
  >;
  /** Said once when the pipeline starts (e.g. steps that keep their own reducers). */
  warnings?: string[];
}

/** Where step `step` of a pipeline writes. */
export function stepOutput(p: PipelineContext, step: number, steps: number, name: string): string {
  return step === steps - 1 ? p.output : joinUri(p.scratch, 'steps', `${step}-${name}`);
}

/** The previous step's counters as the params a pipeline step gets: `counters.<name>`. */
export function counterParams(counters: Record<string, number>): Params {
  return Object.fromEntries(Object.entries(counters).map(([k, v]) => [`counters.${k}`, String(v)]));
}

/**
 * The compact description of a running job that the state machine hands to every task
 * (the input list stays out of it: only Plan reads that).
 */
export interface RunContext {
  jobId: string;
  name: string;
  output: string;
  /** This job's own scratch prefix (unique per job id). */
  scratch: string;
  reducers: number;
  inputFormat: InputFormat;
  outputFormat: OutputFormat;
  sortBufferBytes: number;
  params: Params;
  keepScratch: boolean;
  strictUtf8: boolean;
  /** Stream programs' separators, key fields, key-field order, timeout (from the job properties). @default DEFAULT_STREAM_CONF */
  stream?: StreamConf;
  /** Output parts are compressed with this codec (`part-r-00000.gz`). */
  outputCodec?: 'gzip';
  /**
   * What the stream programs' environment adds to the engine's (task variables aside): the job
   * properties under Hadoop's names (`mapreduce_job_reduces`), the params as
   * `STREAMING_PARAM_<name>`, the job's `env` and the caller's `cmdenv`.
   */
  programEnv?: Record<string, string>;
  /** The caller's extra files for the programs' task directory. */
  files?: string[];
  /** The step of a multi-step job this run is (0 for a single job), and how many steps it has. */
  step: number;
  steps: number;
  /** While a multi-step job runs its steps in order. */
  pipeline?: PipelineContext;
  /** The Step Functions execution running the job (`$$.Execution.Id`), when the definition passes it to Plan. */
  execution?: string;
  /** Tasks that run at once, when known (the local engine's workers): reduce tasks are sized so none idles. */
  parallelism?: number;
}

export interface ResolvedSpec
  extends Required<Omit<JobSpec, 'scratch' | 'parallelism' | 'step' | 'pipeline' | 'jobconf' | 'cmdenv'>> {
  scratch: string;
  parallelism?: number;
  /**
   * A deployment's Distributed Map MaxConcurrency (STREAMING_PARALLELISM on its functions): map
   * tasks at once, which Plan cuts the input for when the call names no `parallelism`. The
   * reduce side does not take it: in the cloud each reduce task costs an invocation and its
   * requests, so small partitions stay packed into few tasks (DEFAULTS.reduceTaskBytes).
   */
  mapConcurrency?: number;
  pipeline?: PipelineContext;
  /** The job's and the caller's properties, under Hadoop 3 names. */
  jobconf: Record<string, string>;
  cmdenv: Record<string, string>;
  stream: StreamConf;
  outputCodec?: 'gzip';
  /** Said once, when the job starts: properties knowingly ignored, options not applied. */
  warnings: string[];
}

export function newJobId(name: string): string {
  const t = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  return `${name}-${t}-${randomBytes(3).toString('hex')}`;
}

/** Settings a deployment gives its functions (StreamingJob props), read from the environment. */
function deploymentDefaults(): { reducers?: number; splitSize?: number; parallelism?: number } {
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  const out: { reducers?: number; splitSize?: number; parallelism?: number } = {};
  const r = num(process.env.STREAMING_REDUCERS);
  const sz = num(process.env.STREAMING_SPLIT_SIZE);
  // The Distributed Maps' MaxConcurrency: how many map tasks run at once, which Plan sizes the
  // splits by (resolveSpec's mapConcurrency); reduce tasks stay sized by bytes.
  const p = num(process.env.STREAMING_PARALLELISM);
  if (r !== undefined) out.reducers = r;
  if (sz !== undefined) out.splitSize = sz;
  if (p !== undefined) out.parallelism = p;
  return out;
}

/** Applies defaults and checks a spec; every problem is reported at once. */
export function resolveSpec(raw: unknown, job: AnyJob): ResolvedSpec {
  const s = (raw ?? {}) as Partial<JobSpec>;
  const problems: string[] = [];
  const input = typeof s.input === 'string' ? [s.input] : s.input;
  if (!Array.isArray(input) || input.length === 0 || input.some((i) => typeof i !== 'string' || i === ''))
    problems.push('input must be one or more paths, URIs or globs');
  if (typeof s.output !== 'string' || s.output === '') problems.push('output must be a path or URI');
  const confProblems = jobConfProblems(s.jobconf);
  problems.push(...confProblems);
  if (
    s.cmdenv !== undefined &&
    (typeof s.cmdenv !== 'object' || Object.values(s.cmdenv).some((v) => typeof v !== 'string'))
  )
    problems.push('cmdenv must be an object of string values');
  if (s.files !== undefined && (!Array.isArray(s.files) || s.files.some((f) => typeof f !== 'string' || f === '')))
    problems.push('files must be a list of paths');
  if (confProblems.length > 0) throw new InvalidJobError(`Invalid job options: ${problems.join('; ')}.`);
  const jobconf = mergeJobConf(job.jobconf, s.jobconf);
  const conf = resolveJobConf(jobconf);
  const callConf = resolveJobConf(mergeJobConf(s.jobconf));
  const ownConf = resolveJobConf(mergeJobConf(job.jobconf));
  // One order everywhere: defaults < job module < deployment (STREAMING_* on deployed functions) < the call.
  const deployed = deploymentDefaults();
  const callReducers = s.reducers ?? callConf.reducers;
  // A deployment's reducers are for jobs that reduce: a map-only job stays map-only, and a job
  // without reduce runs the identity reducer only when it or the caller asks for reducers.
  const own = ownReducers(job);
  const reducers = s.pipeline
    ? // A step of a multi-step job keeps its own reducers, and a step without reduce stays map-only.
      (own ?? (hasReduce(job) ? (callReducers ?? deployed.reducers ?? DEFAULTS.reducers) : 0))
    : hasReduce(job)
      ? (callReducers ?? deployed.reducers ?? own ?? DEFAULTS.reducers)
      : (callReducers ?? own ?? 0);
  if (!Number.isInteger(reducers) || reducers < 0)
    problems.push(`reducers must be a whole number >= 0 (got ${reducers})`);
  const splitSize = s.splitSize ?? callConf.splitSize ?? deployed.splitSize ?? ownConf.splitSize ?? DEFAULTS.splitSize;
  if (!Number.isInteger(splitSize) || splitSize <= 0)
    problems.push(`splitSize must be a whole number of bytes > 0 (got ${splitSize})`);
  const sortBufferBytes = s.sortBufferBytes ?? conf.sortBufferBytes ?? DEFAULTS.sortBufferBytes;
  if (!Number.isInteger(sortBufferBytes) || sortBufferBytes < 1024)
    problems.push(`sortBufferBytes must be at least 1024 (got ${sortBufferBytes})`);
  for (const [name, p] of [
    ['parallelism', s.parallelism],
    ['STREAMING_PARALLELISM', deployed.parallelism],
  ] as const)
    if (p !== undefined && !(Number.isInteger(p) && p >= 1))
      problems.push(`${name} must be a whole number >= 1 (got ${p})`);
  const params = s.params ?? {};
  if (typeof params !== 'object' || Object.values(params).some((v) => typeof v !== 'string'))
    problems.push('params must be an object of string values');
  if (problems.length > 0) throw new InvalidJobError(`Invalid job options: ${problems.join('; ')}.`);

  const output = normalizeUri(s.output as string);
  const inputs = (input as string[]).map(inputUri);
  for (const i of inputs)
    if (!GLOB.test(i) && isWithin(output, i))
      throw new InvalidJobError(
        `Output ${output} is inside input ${i}: the job would read its own output. Choose an output outside the input.`,
      );
  const jobId = s.jobId ?? newJobId(job.name);
  // In the cloud the deployed functions set STREAMING_SCRATCH to the bucket's scratch prefix.

  return {
    input: inputs,
    output,
    scratch: joinUri(scratchBase(s.scratch), jobId),
    reducers,
    splitSize,
    sortBufferBytes,
    params: params as Params,
    jobconf,
    cmdenv: s.cmdenv ?? {},
    files: s.files ?? [],
    stream: conf.stream,
    ...(conf.outputCodec ? { outputCodec: conf.outputCodec } : {}),
    warnings: conf.warnings,
    overwrite: s.overwrite ?? false,
    keepScratch: s.keepScratch ?? DEFAULTS.keepScratch,
    strictUtf8: s.strictUtf8 ?? false,
    jobId,
    ...(s.parallelism !== undefined ? { parallelism: s.parallelism } : {}),
    ...(deployed.parallelism !== undefined ? { mapConcurrency: deployed.parallelism } : {}),
    ...(s.pipeline ? { pipeline: s.pipeline } : {}),
  };
}

/** What the stream programs' environment gets from the job and the call (task variables aside). */
function programEnv(spec: ResolvedSpec, job: AnyJob): Record<string, string> {
  const env: Record<string, string> = {};
  // Hadoop Streaming exports every job property, its name made safe: mapreduce.job.reduces → mapreduce_job_reduces.
  for (const [k, v] of Object.entries(spec.jobconf)) env[envName(k)] = v;
  env.mapreduce_job_reduces = String(spec.reducers);
  for (const [k, v] of Object.entries(spec.params)) env[`STREAMING_PARAM_${envName(k)}`] = v;
  return { ...env, ...job.env, ...spec.cmdenv };
}

export function runContextOf(spec: ResolvedSpec, job: AnyJob, step = { index: 0, of: 1 }): RunContext {
  return {
    jobId: spec.jobId,
    name: job.name,
    output: spec.output,
    scratch: spec.scratch,
    reducers: spec.reducers,
    inputFormat: job.input?.format ?? 'text',
    outputFormat: job.output?.format ?? 'tsv',
    sortBufferBytes: spec.sortBufferBytes,
    params: spec.params,
    keepScratch: spec.keepScratch,
    strictUtf8: spec.strictUtf8,
    stream: spec.stream,
    ...(spec.outputCodec ? { outputCodec: spec.outputCodec } : {}),
    programEnv: programEnv(spec, job),
    files: spec.files,
    step: step.index,
    steps: step.of,
    ...(spec.pipeline ? { pipeline: spec.pipeline } : {}),
    ...(spec.parallelism !== undefined ? { parallelism: spec.parallelism } : {}),
  };
}

/** Where jobs' scratch goes unless a spec says: $STREAMING_SCRATCH (set on deployed functions), else the OS temporary directory. */
export function scratchBase(scratch?: string): string {
  return normalizeUri(scratch ?? process.env.STREAMING_SCRATCH ?? joinUri(os.tmpdir(), 'streaming-scratch'));
}

/** Scratch and output object names, in one place. */
export const layout = {
  spec: (run: RunContext) => joinUri(run.scratch, 'spec.json'),
  splits: (run: RunContext) => joinUri(run.scratch, 'splits.json'),
  /** The chunk lists of splits too long to travel in their items (split-items.ts). */
  splitChunks: (run: RunContext) => joinUri(run.scratch, 'split-chunks.jsonl'),
  /** Where the Distributed Maps' ResultWriter writes the children's results (one folder per Map Run). */
  mapRuns: (run: RunContext) => joinUri(run.scratch, 'map-runs'),
  plan: (run: Pick<RunContext, 'scratch'>) => joinUri(run.scratch, 'plan.json'),
  mapIndexes: (run: RunContext) => joinUri(run.scratch, 'map'),
  reduceResults: (run: RunContext) => joinUri(run.scratch, 'reduce'),
  mapData: (run: RunContext, task: number, attempt: string) =>
    joinUri(run.scratch, 'map', pad(task), `${attempt}.data`),
  mapIndex: (run: RunContext, task: number) => joinUri(run.scratch, 'map', `${pad(task)}.index.json`),
  reducers: (run: RunContext) => joinUri(run.scratch, 'reducers.json'),
  reduceManifest: (run: RunContext, r: number) => joinUri(run.scratch, 'reduce', `${pad(r)}.manifest`),
  mapAttempts: (run: RunContext) => joinUri(run.scratch, 'map-attempts.json'),
  reduceResult: (run: RunContext, r: number) => joinUri(run.scratch, 'reduce', `${pad(r)}.result.json`),
  /** Records of failed task attempts (for the report's timeline); written by the attempt as it fails. */
  failedAttempts: (run: RunContext) => joinUri(run.scratch, 'failed-attempts'),
  failedAttempt: (run: RunContext, phase: string, task: number, attempt: string) =>
    joinUri(run.scratch, 'failed-attempts', `${phase}-${pad(task)}-${attempt}.json`),
  reducePart: (run: RunContext, r: number) => joinUri(run.output, `part-r-${pad(r)}${partSuffix(run)}`),
  mapPart: (run: RunContext, task: number) => joinUri(run.output, `part-m-${pad(task)}${partSuffix(run)}`),
  /** The run that owns the output while it runs (functions/phases/claim.ts). */
  claim: (output: string) => joinUri(output, '_CLAIM'),
  success: (output: string) => joinUri(output, '_SUCCESS'),
  manifest: (output: string) => joinUri(output, '_manifest.json'),
  failed: (output: string) => joinUri(output, '_FAILED'),
};

/** `.gz` when the output parts are compressed (mapreduce.output.fileoutputformat.compress). */
const partSuffix = (run: Pick<RunContext, 'outputCodec'>) => (run.outputCodec === 'gzip' ? '.gz' : '');

export function pad(n: number): string {
  return String(n).padStart(5, '0');
}

/** A job's output parts (`part-r-00000`, `part-m-00000`, `.gz` when compressed). */
export const PART_FILE = /\/part-[mr]-\d{5,}(\.gz)?$/;

/** Output objects a job writes; others in the output directory are left alone. */
export const OUTPUT_FILE = /\/(part-[mr]-\d{5,}(\.gz)?|_SUCCESS|_manifest\.json|_FAILED)$/;

/** The SSM parameter through which a deployed job is found by name (written by StreamingJob, read by startJob). */
export const registryParameter = (name: string) => `/streaming/jobs/${name}`;
