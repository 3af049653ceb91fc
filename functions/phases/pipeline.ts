/**
 * Multi-step jobs (definePipeline) run as one execution: Plan starts the chain, each step's
 * Commit hands the state machine the spec of the next step, which loops back to Plan.
 */
import { OutputExistsError } from '../errors.js';
import { hasReduce, ownReducers, type Pipeline, readsPrevious, stepCount, stepOf } from '../job.js';
import { mergeJobConf } from '../jobconf.js';
import {
  counterParams,
  type JobSpec,
  layout,
  newJobId,
  type PipelineContext,
  scratchBase,
  stepOutput,
} from '../spec.js';
import type { StorageRouter } from '../storage/index.js';
import { joinUri, normalizeUri } from '../storage/uri.js';
import type { Counters } from './env.js';

/**
 * The spec of a pipeline's first step, from the caller's spec. A completed output is refused
 * here, before any step runs, unless `overwrite`.
 */
export async function startPipeline(router: StorageRouter, module: Pipeline, raw: JobSpec): Promise<JobSpec> {
  const jobId = raw.jobId ?? newJobId(module.name);
  const output = normalizeUri(raw.output);
  const overwrite = raw.overwrite ?? false;
  if (!overwrite && (await router.for(output).stat(layout.success(output)))) throw new OutputExistsError(output);
  const options: PipelineContext['options'] = {};
  for (const k of [
    'reducers',
    'splitSize',
    'sortBufferBytes',
    'parallelism',
    'scratch',
    'keepScratch',
    'strictUtf8',
    'jobconf',
    'cmdenv',
    'files',
  ] as const)
    if (raw[k] !== undefined) (options as Record<string, unknown>)[k] = raw[k];
  const callReducers = raw.reducers ?? mergeJobConf(raw.jobconf)['mapreduce.job.reduces'];
  // Said once: the caller's reducers do not change a step that sets its own (it may need them, e.g. 1 for a total).
  const warnings = module.steps.flatMap((job, i) => {
    const own = ownReducers(job);
    return callReducers !== undefined && own !== undefined && Number(callReducers) !== own
      ? [
          `step ${i + 1} (${job.name}) keeps its own reducers (${own}); the ${callReducers} asked for apply to steps that set none`,
        ]
      : [];
  });
  const input = typeof raw.input === 'string' ? [raw.input] : raw.input;
  const pipeline: PipelineContext = {
    jobId,
    input,
    output,
    scratch: joinUri(scratchBase(raw.scratch), jobId),
    params: raw.params ?? {},
    overwrite,
    options,
    ...(warnings.length > 0 ? { warnings } : {}),
  };
  return stepSpec(module, pipeline, 0, undefined, {});
}

/**
 * The spec of step `step`: reading the previous step's output (or the pipeline's input, for the
 * first step and steps with `input.from: 'pipeline'`; or the locations of the param a step's
 * `input.from: { param }` names, when given), with the previous step's counters and
 * output location as params.
 */
export function stepSpec(
  module: Pipeline,
  p: PipelineContext,
  step: number,
  previousOutput: string | undefined,
  counters: Counters,
): JobSpec {
  const steps = stepCount(module);
  const job = stepOf(module, step);
  const { reducers, ...options } = p.options;
  const from = job.input?.from;
  const named = typeof from === 'object' ? p.params[from.param] : undefined;
  const input =
    named !== undefined && named.trim() !== ''
      ? named
          .split(',')
          .map((i) => i.trim())
          .filter((i) => i !== '')
      : previousOutput === undefined || !readsPrevious(job)
        ? p.input
        : [previousOutput];
  return {
    ...options,
    // The caller's reducers tune the steps that reduce and set none; a map-only step stays map-only.
    ...(reducers !== undefined && hasReduce(job) && ownReducers(job) === undefined ? { reducers } : {}),
    input,
    output: stepOutput(p, step, steps, job.name),
    jobId: `${p.jobId}-${step}`,
    step,
    params: {
      ...p.params,
      ...counterParams(counters),
      ...(previousOutput === undefined ? {} : { 'previous.output': previousOutput }),
    },
    overwrite: step === steps - 1 ? p.overwrite : true,
    pipeline: p,
  };
}
