import {
  assertJob,
  assertJobModule,
  type InputFormat,
  type Job,
  type JobDefinition,
  type Pipeline,
} from '../functions/job.js';

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

/**
 * Defines a multi-step job: each step's output feeds the next; the last step writes the job's
 * output. The export of a job module, like a job.
 *
 * ```ts
 * export default definePipeline({ name: 'tfidf', steps: [documentFrequencies, weights] });
 * ```
 * A step writing `tsv` must be followed by one reading `text`; `jsonl` by `jsonl`, unless the
 * next step reads the pipeline's own input (`input: { from: 'pipeline' }`). From the second
 * step on, `ctx.params` also holds the previous step's counters as `counters.<name>` and where
 * it wrote as `previous.output` (for `ctx.sideInput`).
 */
export function definePipeline(definition: { name: string; steps: readonly Job[] }): Pipeline {
  const pipeline = Object.freeze({
    ...definition,
    steps: Object.freeze([...definition.steps]),
    __streamingPipeline: true as const,
  });
  assertJobModule(pipeline, `pipeline "${definition.name ?? '(no name)'}"`);
  return pipeline;
}
