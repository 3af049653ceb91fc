import { fileURLToPath } from 'node:url';
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
  return Object.freeze(withModule({ ...definition, __streamingJob: true as const }));
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
  const pipeline = Object.freeze(
    withModule({
      ...definition,
      steps: Object.freeze([...definition.steps]),
      __streamingPipeline: true as const,
    }),
  );
  assertJobModule(pipeline, `pipeline "${definition.name ?? '(no name)'}"`);
  return pipeline;
}

const DEFINED_IN = Symbol.for('streaming.definedIn');

/**
 * Records, out of sight (a symbol key), the file of the module whose code called defineJob or
 * definePipeline. runLocal(job) bundles that module for its workers and finds the job among its
 * exports by name.
 */
function withModule<T extends object>(value: T): T {
  const file = callerFile([]);
  if (file) Object.defineProperty(value, DEFINED_IN, { value: file, enumerable: false });
  return value;
}

/**
 * The file of the first frame of the call stack outside this file and `skip` (the module that
 * called into the SDK), from V8's structured stack; undefined when there is none.
 */
export function callerFile(skip: string[]): string | undefined {
  const original = Error.prepareStackTrace;
  try {
    Error.prepareStackTrace = (_e, sites) => sites;
    const sites = new Error().stack as unknown as NodeJS.CallSite[];
    const here = sites[0]?.getFileName() ?? undefined;
    const asPath = (f: string) => (f.startsWith('file://') ? fileURLToPath(f) : f);
    for (const site of sites) {
      const f = site.getFileName();
      if (!f || f === here || f.startsWith('node:')) continue;
      if (!skip.includes(asPath(f))) return asPath(f);
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    Error.prepareStackTrace = original;
  }
}

/** The file of the module that defined a job or pipeline (see withModule), if known. */
export function definedIn(job: object): string | undefined {
  return (job as Record<symbol, string | undefined>)[DEFINED_IN];
}
