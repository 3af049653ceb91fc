/**
 * What a job is (DESIGN §1). These types live with the phases that run jobs; `sdk/` re-exports
 * them beside `defineJob`.
 */
import { InvalidJobError } from './errors.js';

export const INPUT_FORMATS = ['text', 'jsonl', 'csv', 'whole'] as const;
export type InputFormat = (typeof INPUT_FORMATS)[number];
export const OUTPUT_FORMATS = ['tsv', 'jsonl', 'text'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The record `map` receives for each input format. */
export type RecordOf<F extends InputFormat> = F extends 'text'
  ? string
  : F extends 'jsonl'
    ? unknown
    : F extends 'csv'
      ? Record<string, string>
      : F extends 'whole'
        ? string
        : never;

export type Emit<K, V> = (key: K, value: V) => void;
export type Params = Record<string, string>;

/** What every user function gets besides its data. */
export interface TaskContext {
  /** User parameters (`--param k=v`, `runLocal({ params })`). */
  readonly params: Params;
  /**
   * The text of a small file (a model, a vocabulary, centroids), read once per worker or
   * container and shared by its tasks: `const vocab = await ctx.sideInput(ctx.params.vocab)`.
   */
  sideInput(uri: string): Promise<string>;
  /** The text of an object (UTF-8), read now and not kept: for inputs a task reads by name. */
  readText(uri: string): Promise<string>;
  /** Adds `n` (default 1) to a named counter; counters are summed into the job summary. */
  count(name: string, n?: number): void;
  /** Where the current record comes from (the input object's URI). Empty in reduce. */
  readonly inputUri: string;
  /** Phase, task number and attempt id of the running task. */
  readonly task: { readonly phase: 'map' | 'reduce'; readonly index: number; readonly attempt: string };
}

export interface JobDefinition<F extends InputFormat, K, V, OK, OV> {
  /** A short name: letters, digits, `-` and `_`. */
  name: string;
  input?: {
    format?: F;
    /**
     * In a pipeline, what this step reads: the previous step's output (`'previous'`), or the
     * pipeline's own input (`'pipeline'`: a step that re-reads the source records and takes
     * what the previous step computed as a side input, `ctx.params['previous.output']`), or
     * the locations a param names, comma-separated (`{ param: 'apply' }`: a model fitted by
     * the steps before on the pipeline's input, applied to other data in the same run), and
     * the pipeline's input when that param is not given.
     * @default 'previous'
     */
    from?: 'previous' | 'pipeline' | { param: string };
  };
  /** Called once per record. May return a promise; the engine awaits it only then. Give `map` or `mapper`. */
  map?(record: RecordOf<F>, emit: Emit<K, V>, ctx: TaskContext): void | Promise<void>;
  /**
   * A stream program instead of `map` (Hadoop Streaming): a shell command run once per map task
   * in the working directory, fed one record per line on stdin (text lines as they are, other
   * formats as JSON), printing `key<TAB>value` lines (a line without a tab is all key).
   */
  mapper?: string;
  /** A stream program instead of `reduce`: fed `key<TAB>value` lines sorted by key, printing `key<TAB>value` lines. */
  reducer?: string;
  /**
   * A stream program instead of `combine`: run map-side on each sorted buffer of map output
   * before it is written (fed `key<TAB>value` lines sorted by key, printing `key<TAB>value`
   * lines). Like Hadoop's, it may run any number of times, so it must print what the reducer
   * accepts as input. Values it prints are strings.
   */
  combiner?: string;
  /**
   * Folds values of one key into one; must be associative (it runs map-side, any number of
   * times). The values are the combine's own: it may modify the first and return it (appending
   * to a list in place keeps in-mapper combining linear).
   */
  combine?(key: K, values: Iterable<V>): V;
  /** Called once per distinct key with its values streamed in; omit it (or set reducers: 0) for a map-only job. */
  reduce?(key: K, values: Iterable<V>, emit: Emit<OK, OV>, ctx: TaskContext): void | Promise<void>;
  /** Reduce partitions; 0 makes a map-only job. */
  reducers?: number;
  /**
   * `tsv`: key<TAB>value lines; `jsonl`: {"key", "value"} lines (lossless); `text`: the key as a
   * line of its own, the value not written (a job that writes CSV, or records as they were read).
   * @default 'tsv'
   */
  output?: { format?: OutputFormat };
}

/** A validated job, as `defineJob` returns it. */
export interface Job<F extends InputFormat = InputFormat, K = unknown, V = unknown, OK = unknown, OV = unknown>
  extends JobDefinition<F, K, V, OK, OV> {
  readonly __streamingJob: true;
}

// biome-ignore lint/suspicious/noExplicitAny: the engine handles jobs of any record types.
export type AnyJob = Job<InputFormat, any, any, any, any>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Every problem of a job definition, so the user fixes them in one round. */
export function jobProblems(def: unknown): string[] {
  if (def === null || typeof def !== 'object') return ['the job must be an object passed to defineJob({...})'];
  const j = def as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof j.name !== 'string' || !NAME.test(j.name))
    problems.push('name must be 1-64 letters, digits, "-" or "_", starting with a letter or digit');
  if ((typeof j.map === 'function') === (typeof j.mapper === 'string'))
    problems.push('give map, a function (record, emit, ctx) => void, or mapper, a command — one of them');
  if (j.map !== undefined && typeof j.map !== 'function')
    problems.push('map must be a function (record, emit, ctx) => void');
  if (j.mapper !== undefined && (typeof j.mapper !== 'string' || j.mapper.trim() === ''))
    problems.push('mapper must be a command');
  if (j.reducer !== undefined && (typeof j.reducer !== 'string' || j.reducer.trim() === ''))
    problems.push('reducer must be a command');
  if (j.combiner !== undefined && (typeof j.combiner !== 'string' || j.combiner.trim() === ''))
    problems.push('combiner must be a command');
  if (j.reduce !== undefined && j.reducer !== undefined) problems.push('give reduce or reducer, not both');
  if (j.combine !== undefined && j.combiner !== undefined) problems.push('give combine or combiner, not both');
  if (j.combine !== undefined && typeof j.combine !== 'function') problems.push('combine must be a function');
  if (j.reduce !== undefined && typeof j.reduce !== 'function') problems.push('reduce must be a function');
  if (j.reducers !== undefined && !(Number.isInteger(j.reducers) && (j.reducers as number) >= 0))
    problems.push('reducers must be a whole number >= 0');
  if (j.reduce === undefined && j.reducer === undefined && typeof j.reducers === 'number' && j.reducers > 0)
    problems.push('reducers > 0 needs reduce or reducer (or set reducers: 0 for a map-only job)');
  const format = (j.input as { format?: unknown } | undefined)?.format;
  if (format !== undefined && !INPUT_FORMATS.includes(format as InputFormat))
    problems.push(`input.format must be one of ${INPUT_FORMATS.join(', ')}`);
  const from = (j.input as { from?: unknown } | undefined)?.from;
  const fromParam =
    from !== null &&
    typeof from === 'object' &&
    typeof (from as { param?: unknown }).param === 'string' &&
    (from as { param: string }).param !== '';
  if (from !== undefined && from !== 'previous' && from !== 'pipeline' && !fromParam)
    problems.push(`input.from must be 'previous', 'pipeline' or { param: '<name>' }`);
  const out = (j.output as { format?: unknown } | undefined)?.format;
  if (out !== undefined && !OUTPUT_FORMATS.includes(out as OutputFormat))
    problems.push(`output.format must be one of ${OUTPUT_FORMATS.join(', ')}`);
  return problems;
}

export function assertJob(def: unknown, where = 'job'): asserts def is AnyJob {
  const problems = jobProblems(def);
  if (problems.length > 0) throw new InvalidJobError(`Invalid ${where}: ${problems.join('; ')}.`);
}

/** Whether the job has a reduce step, as a function or a stream program. */
export const hasReduce = (job: AnyJob) => job.reduce !== undefined || job.reducer !== undefined;

/**
 * A multi-step job: each step's output is the next step's input. A step writing `tsv` feeds a
 * step reading `text` (one `key<TAB>value` line per record); a step writing `jsonl` feeds a step
 * reading `jsonl` (`{key, value}` records). A step with `input.from: 'pipeline'` reads the
 * pipeline's input instead, and one with `input.from: { param }` the locations that param names. Every step gets the job's params and, from the second step on, the
 * counters of the step before it as params `counters.<name>` and where it wrote as
 * `previous.output`.
 */
export interface Pipeline {
  readonly name: string;
  readonly steps: readonly AnyJob[];
  readonly __streamingPipeline: true;
}

/** What a job module's default export may be. */
export type JobModule = AnyJob | Pipeline;

export const isPipeline = (m: unknown): m is Pipeline =>
  m !== null && typeof m === 'object' && (m as Pipeline).__streamingPipeline === true;

/** The input formats that read what a step writing each output format wrote (the first is the one to suggest). */
const READS: Record<OutputFormat, InputFormat[]> = { tsv: ['text'], jsonl: ['jsonl'], text: ['text', 'csv', 'jsonl'] };

export function pipelineProblems(def: unknown): string[] {
  if (def === null || typeof def !== 'object')
    return ['the pipeline must be an object passed to definePipeline({...})'];
  const p = def as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof p.name !== 'string' || !NAME.test(p.name))
    problems.push('name must be 1-64 letters, digits, "-" or "_", starting with a letter or digit');
  if (!Array.isArray(p.steps) || p.steps.length === 0) return [...problems, 'steps must be a list of one or more jobs'];
  p.steps.forEach((step, i) => {
    const own = jobProblems(step);
    if (own.length > 0) problems.push(`step ${i + 1}: ${own.join('; ')}`);
    else if ((step as { __streamingJob?: unknown }).__streamingJob !== true)
      problems.push(`step ${i + 1} must be a job made by defineJob({...})`);
  });
  for (let i = 1; i < p.steps.length && problems.length === 0; i++) {
    const prev = p.steps[i - 1] as AnyJob;
    const next = p.steps[i] as AnyJob;
    const wrote = prev.output?.format ?? 'tsv';
    const reads = next.input?.format ?? 'text';
    if (readsPrevious(next) && !READS[wrote].includes(reads))
      problems.push(
        `step ${i + 1} (${next.name}) reads ${reads} but step ${i} (${prev.name}) writes ${wrote}: set its input.format to ${READS[wrote][0]}`,
      );
  }
  return problems;
}

/** Whether a pipeline step reads the previous step's output (not the pipeline's input or a param's locations). */
export const readsPrevious = (step: AnyJob): boolean => (step.input?.from ?? 'previous') === 'previous';

/** Checks a job module's default export: a job or a pipeline. */
export function assertJobModule(def: unknown, where: string): asserts def is JobModule {
  if (isPipeline(def)) {
    const problems = pipelineProblems(def);
    if (problems.length > 0) throw new InvalidJobError(`Invalid ${where}: ${problems.join('; ')}.`);
  } else assertJob(def, where);
}

export const stepCount = (m: JobModule): number => (isPipeline(m) ? m.steps.length : 1);

/** The job a step number names (0 for a single job). */
export function stepOf(m: JobModule, step = 0): AnyJob {
  const n = stepCount(m);
  if (!Number.isInteger(step) || step < 0 || step >= n)
    throw new InvalidJobError(
      `Job "${m.name}" has ${n} step${n === 1 ? '' : 's'}: step must be 0 to ${n - 1} (got ${step}).`,
    );
  return isPipeline(m) ? m.steps[step]! : m;
}
