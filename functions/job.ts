/**
 * What a job is (DESIGN §1). These types live with the phases that run jobs; `sdk/` re-exports
 * them beside `defineJob`.
 */
import { InvalidJobError } from './errors.js';
import { type JobConf, jobConfProblems, mergeJobConf } from './jobconf.js';
import { closest } from './suggest.js';

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
  /**
   * Adds `n` (default 1) to a named counter of the job; counters are summed into the job
   * summary, and a pipeline's next step gets them as params `counters.<name>`.
   */
  count(name: string, n?: number): void;
  /**
   * Adds `amount` (default 1) to a counter of a named group, as Hadoop's and mrjob's counters
   * (and a stream program's `reporter:counter:<group>,<counter>,<amount>` stderr line) do;
   * shown by group in the manifest, the summary and the report.
   */
  incrementCounter(group: string, counter: string, amount?: number): void;
  /**
   * Sets the task's status, shown in the progress display and the report (a stream program's
   * `reporter:status:<message>` line does the same).
   */
  status(message: string): void;
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
  /**
   * Called once per distinct key with its values streamed in; omit it (or set reducers: 0) for a
   * map-only job. The SDK's `sum` and `concat` are reduces as they are (`reduce: sum` emits each
   * key with the sum of its values, as Hadoop's LongSumReducer does).
   */
  reduce?(key: K, values: Iterable<V>, emit: Emit<OK, OV>, ctx: TaskContext): void | Promise<void>;
  /**
   * Reduce partitions; 0 makes a map-only job. A job with reducers but neither `reduce` nor
   * `reducer` runs the identity reducer (Hadoop's): its map output, partitioned and sorted.
   * In a multi-step job a step's own `reducers` is kept whatever the caller's `--reducers` says.
   */
  reducers?: number;
  /**
   * `tsv`: key<TAB>value lines; `jsonl`: {"key", "value"} lines (lossless); `text`: the key as a
   * line of its own, the value not written (a job that writes CSV, or records as they were read).
   * @default 'tsv'
   */
  output?: { format?: OutputFormat };
  /**
   * Hadoop job properties, as `-D name=value` gives them on the command line (which wins over
   * these): `stream.num.map.output.key.fields`, `mapreduce.partition.keycomparator.options`…
   * (docs/stream-programs.md lists them). An unknown name is an error.
   */
  jobconf?: JobConf;
  /** Environment variables of the stream programs (Hadoop's `-cmdenv`; `--cmdenv` adds to them). */
  env?: Record<string, string>;
  /**
   * Files the stream programs open (Hadoop's `-files`), relative to the job file: each appears
   * by its name (or `path#name` as `name`) in the directory the programs run in. Files named in
   * the commands themselves (`python3 map.py`) need not be listed.
   */
  files?: string[];
  /**
   * How stream programs print records (and the combiner and reducer read them): `text`,
   * Hadoop Streaming's key<TAB>value lines; `jsonl`, one `{"key": …, "value": …}` object per
   * line (mrjob's JSON protocol), so numbers and objects keep their types. @default 'text'
   */
  protocol?: 'text' | 'jsonl';
  /**
   * Called once per map or reduce task before its first record (mrjob's mapper_init /
   * reducer_init; `ctx.task.phase` says which). May return a promise.
   */
  setup?(ctx: TaskContext): void | Promise<void>;
  /**
   * Called once per map or reduce task after its last record (mrjob's mapper_final /
   * reducer_final): what it emits is the task's output too (map output in a map task, job
   * output in a reduce task). May return a promise.
   */
  cleanup?(ctx: TaskContext, emit: Emit<K, V> & Emit<OK, OV>): void | Promise<void>;
  /**
   * Partitions on part of the key: records whose keys give equal `partitionBy(key)` go to the
   * same reducer (Hadoop's KeyFieldBasedPartitioner, typed). @default the whole key
   */
  partitionBy?(key: K): unknown;
  /**
   * The order of keys within a partition (each reducer sees its keys in this order; keys it
   * calls equal stay separate groups, in byte order). @default the byte order of the encoded keys
   */
  compareKeys?(a: K, b: K): number;
  /**
   * The order of each key's values as `reduce` receives them (secondary sort, done by the
   * shuffle: memory stays bounded). @default map task order, then emission order
   */
  compareValues?(a: V, b: V): number;
}

/** A validated job, as `defineJob` returns it. */
export interface Job<F extends InputFormat = InputFormat, K = unknown, V = unknown, OK = unknown, OV = unknown>
  extends JobDefinition<F, K, V, OK, OV> {
  readonly __streamingJob: true;
}

// biome-ignore lint/suspicious/noExplicitAny: the engine handles jobs of any record types.
export type AnyJob = Job<InputFormat, any, any, any, any>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** The keys a job definition may have (and, nested, its `input` and `output`). */
const JOB_KEYS = [
  'name',
  'input',
  'map',
  'mapper',
  'combine',
  'combiner',
  'reduce',
  'reducer',
  'reducers',
  'output',
  'jobconf',
  'env',
  'files',
  'protocol',
  'setup',
  'cleanup',
  'partitionBy',
  'compareKeys',
  'compareValues',
] as const satisfies readonly (keyof JobDefinition<InputFormat, unknown, unknown, unknown, unknown>)[];
const INPUT_KEYS = ['format', 'from'];
const OUTPUT_KEYS = ['format'];

function unknownKeys(where: string, o: unknown, known: readonly string[]): string[] {
  if (o === null || typeof o !== 'object') return [];
  return Object.keys(o)
    .filter((k) => !known.includes(k) && k !== '__streamingJob')
    .map((k) => {
      const guess = closest(k, known);
      return `unknown key ${where}${k}${guess ? ` (did you mean ${where}${guess}?)` : ''}`;
    });
}

const isFn = (x: unknown) => typeof x === 'function';

/** Every problem of a job definition, so the user fixes them in one round. */
export function jobProblems(def: unknown): string[] {
  if (def === null || typeof def !== 'object') return ['the job must be an object passed to defineJob({...})'];
  const j = def as Record<string, unknown>;
  const problems: string[] = [
    ...unknownKeys('', j, JOB_KEYS),
    ...unknownKeys('input.', j.input, INPUT_KEYS),
    ...unknownKeys('output.', j.output, OUTPUT_KEYS),
  ];
  if (typeof j.name !== 'string' || !NAME.test(j.name))
    problems.push('name must be 1-64 letters, digits, "-" or "_", starting with a letter or digit');
  if (isFn(j.map) === (typeof j.mapper === 'string'))
    problems.push('give map, a function (record, emit, ctx) => void, or mapper, a command — one of them');
  if (j.map !== undefined && !isFn(j.map)) problems.push('map must be a function (record, emit, ctx) => void');
  for (const k of ['mapper', 'reducer', 'combiner'] as const)
    if (j[k] !== undefined && (typeof j[k] !== 'string' || j[k].trim() === '')) problems.push(`${k} must be a command`);
  if (j.reduce !== undefined && j.reducer !== undefined) problems.push('give reduce or reducer, not both');
  if (j.combine !== undefined && j.combiner !== undefined) problems.push('give combine or combiner, not both');
  for (const k of ['combine', 'reduce', 'setup', 'cleanup', 'partitionBy', 'compareKeys', 'compareValues'] as const)
    if (j[k] !== undefined && !isFn(j[k])) problems.push(`${k} must be a function`);
  if (j.reducers !== undefined && !(Number.isInteger(j.reducers) && (j.reducers as number) >= 0))
    problems.push('reducers must be a whole number >= 0');
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
  problems.push(...jobConfProblems(j.jobconf));
  const conf = j.jobconf && typeof j.jobconf === 'object' ? mergeJobConf(j.jobconf as JobConf) : {};
  const confReducers = conf['mapreduce.job.reduces'];
  if (confReducers !== undefined && j.reducers !== undefined && Number(confReducers) !== j.reducers)
    problems.push(`reducers (${j.reducers}) and jobconf mapreduce.job.reduces (${confReducers}) disagree: give one`);
  const keyOrder =
    conf['mapreduce.partition.keypartitioner.options'] ?? conf['mapreduce.partition.keycomparator.options'];
  if (keyOrder !== undefined && (j.partitionBy !== undefined || j.compareKeys !== undefined))
    problems.push('give partitionBy/compareKeys or the key-field jobconf options, not both');
  if (
    j.env !== undefined &&
    (j.env === null || typeof j.env !== 'object' || Object.values(j.env).some((v) => typeof v !== 'string'))
  )
    problems.push('env must be an object of string values');
  if (j.files !== undefined && (!Array.isArray(j.files) || j.files.some((f) => typeof f !== 'string' || f === '')))
    problems.push('files must be a list of paths (relative to the job file)');
  if (j.protocol !== undefined && j.protocol !== 'text' && j.protocol !== 'jsonl')
    problems.push(`protocol must be 'text' or 'jsonl'`);
  const programs = j.mapper !== undefined || j.reducer !== undefined || j.combiner !== undefined;
  if (!programs)
    for (const k of ['env', 'files', 'protocol'] as const)
      if (j[k] !== undefined)
        problems.push(`${k} is for stream programs (mapper, combiner, reducer): this job has none`);
  return problems;
}

export function assertJob(def: unknown, where = 'job'): asserts def is AnyJob {
  const problems = jobProblems(def);
  if (problems.length > 0) throw new InvalidJobError(`Invalid ${where}: ${problems.join('; ')}.`);
}

/** Whether the job has a reduce step, as a function or a stream program. */
export const hasReduce = (job: AnyJob) => job.reduce !== undefined || job.reducer !== undefined;

/** Whether the job runs stream programs. */
export const hasPrograms = (job: AnyJob) =>
  job.mapper !== undefined || job.reducer !== undefined || job.combiner !== undefined;

/** The reducers the job itself asks for: `reducers`, or its jobconf's mapreduce.job.reduces. */
export function ownReducers(job: AnyJob): number | undefined {
  if (job.reducers !== undefined) return job.reducers;
  const r = mergeJobConf(job.jobconf)['mapreduce.job.reduces'];
  return r === undefined ? undefined : Number(r);
}

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
