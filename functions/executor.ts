/**
 * How a module's exports become the job a worker thread or a Lambda function runs, when the
 * job was handed over by value (`runLocal(job)`) or is an executor call (`map(fn, inputs)`):
 * code never travels at run time. The module itself is bundled (by the local engine, or by
 * `cdk deploy` as a StreamingJob's `job`), so its imports and helpers come along; what the run
 * names is an export: a job by its name, a function by its name.
 */
import { InvalidJobError, StreamingError } from './errors.js';
import { type AnyJob, isPipeline, type JobModule, type TaskContext } from './job.js';

/** The params through which an executor run names its functions. */
export const EXECUTOR_PARAMS = { map: 'executor.map', reduce: 'executor.reduce' } as const;

/** One input of an executor run, as a line of its input file. */
export type ExecutorItem = { i: number; value: unknown } | { i: number; uri: string };

const isJobModule = (m: unknown): m is JobModule =>
  isPipeline(m) || (m !== null && typeof m === 'object' && (m as AnyJob).__streamingJob === true);

/**
 * The job of a bundled module: its default export when that is a job or pipeline, else the
 * executor job over its exported functions (a module deployed for `executor({ deployed })`).
 */
export function jobOfModule(exports: Record<string, unknown>, where: string): JobModule {
  return isJobModule(exports.default) ? exports.default : executorJob(exports, where);
}

/** The exported job (or pipeline) named `name`, among all of a module's exports. */
export function exportedJob(exports: Record<string, unknown>, name: string, where: string): JobModule {
  const found = [...new Set(Object.values(exports))].filter((v) => isJobModule(v) && v.name === name);
  if (found.length === 1) return found[0] as JobModule;
  throw new InvalidJobError(
    found.length === 0
      ? `No job named "${name}" is exported by ${where}: a job handed to runLocal() by value runs from its module, bundled for the workers, and is found there among the exports (export const job = defineJob({...})).`
      : `${found.length} jobs named "${name}" are exported by ${where}: give them different names.`,
  );
}

/**
 * The job of executor calls: each input line `{i, value}` (or `{i, uri}`, an object read whole)
 * goes through the exported function the run names (`executor.map`); a map-only run emits
 * `(i, result)`; with `executor.reduce`, every result goes to one reducer that hands them, in
 * input order, to that function and emits its result.
 */
export function executorJob(exports: Record<string, unknown>, where: string): AnyJob {
  const fn = (params: Record<string, string>, which: keyof typeof EXECUTOR_PARAMS) => {
    const name = params[EXECUTOR_PARAMS[which]];
    const f = name === undefined ? undefined : exports[name];
    if (typeof f !== 'function')
      throw new InvalidJobError(
        name === undefined
          ? `This run names no function (param ${EXECUTOR_PARAMS[which]}): ${where} is not a job module (its default export is not defineJob(...)), so only executor calls can run it.`
          : `"${name}" is not a function exported by ${where}: executor functions run from their module, bundled for the workers (or deployed), and are found there by name: export it (export function ${name}(...)).`,
      );
    return f as (...args: unknown[]) => unknown;
  };
  return Object.freeze({
    name: 'executor',
    input: { format: 'jsonl' as const },
    async map(record: unknown, emit: (k: unknown, v: unknown) => void, ctx: TaskContext) {
      const item = record as ExecutorItem;
      if (item === null || typeof item !== 'object' || typeof item.i !== 'number')
        throw new StreamingError(
          `An executor input line must be {"i": <index>, "value"|"uri": ...} (got ${JSON.stringify(record)}).`,
        );
      const arg = 'uri' in item ? { uri: item.uri, text: await ctx.readText(item.uri) } : item.value;
      const result = (await fn(ctx.params, 'map')(arg)) ?? null;
      if (ctx.params[EXECUTOR_PARAMS.reduce] === undefined) emit(item.i, result);
      else emit('', [item.i, result]);
    },
    async reduce(_key: unknown, values: Iterable<unknown>, emit: (k: unknown, v: unknown) => void, ctx: TaskContext) {
      const results = [...(values as Iterable<[number, unknown]>)].sort((a, b) => a[0] - b[0]).map((r) => r[1]);
      emit('result', (await fn(ctx.params, 'reduce')(results)) ?? null);
    },
    output: { format: 'jsonl' as const },
    __streamingJob: true as const,
  }) satisfies AnyJob;
}
