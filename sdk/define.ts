import { assertJob, type InputFormat, type Job, type JobDefinition } from '../functions/job.js';

/**
 * Defines a job: the default export of a job module.
 *
 * ```ts
 * export default defineJob({
 *   name: 'wordcount',
 *   input: { format: 'text' },
 *   map(line, emit) { for (const w of words(line)) emit(w, 1); },
 *   combine: (_w, counts) => sum(counts),
 *   reduce(word, counts, emit) { emit(word, sum(counts)); },
 * });
 * ```
 * Problems are reported together, when the module loads.
 */
export function defineJob<const F extends InputFormat = 'text', K = unknown, V = unknown, OK = unknown, OV = unknown>(
  definition: JobDefinition<F, K, V, OK, OV>,
): Job<F, K, V, OK, OV> {
  assertJob(definition, `job "${(definition as { name?: unknown })?.name ?? '(no name)'}"`);
  return Object.freeze({ ...definition, __streamingJob: true as const });
}
