/** Streaming's public entry point: what jobs and programs import. */

export { DEFAULTS } from '../functions/config.js';
export {
  ChecksumMismatchError,
  InputNotFoundError,
  InvalidJobError,
  JobCancelledError,
  JobFailedError,
  MalformedRecordError,
  OutputExistsError,
  SideInputNotFoundError,
  StreamingError,
  UserCodeError,
} from '../functions/errors.js';
export type {
  AnyJob,
  Emit,
  InputFormat,
  Job,
  JobDefinition,
  JobModule,
  OutputFormat,
  Params,
  Pipeline,
  RecordOf,
  TaskContext,
} from '../functions/job.js';
export type { JobManifest } from '../functions/phases/commit.js';
export type { JobHandle, JobState, JobStatus, OutputRecord, StartJobOptions } from './client.js';
export { attachJob, readResults, startJob } from './client.js';
export type { DeployedJob, JobRegistry } from './cloud/registry.js';
export type { StepFunctionsApi } from './cloud/stepfunctions.js';
export { defineJob, definePipeline } from './define.js';
export type { CostLine, Estimate, EstimateOptions } from './estimate.js';
export { estimateCost, PRICES } from './estimate.js';
export type { Executor, ExecutorOptions, Future, ObjectInput, Objects } from './executor.js';
export { executor, isMain } from './executor.js';
export {
  distinctTokens,
  forEachToken,
  hashedFeature,
  l2Normalize,
  murmurHash3,
  termCounts,
  tokens,
} from './features.js';
export type { IterateOptions, IterateResult } from './iterate.js';
export { iterate } from './iterate.js';
export type { LocalJobResult, LocalRunOptions } from './local/engine.js';
export { runLocal } from './local/engine.js';
export type { LocalJobHandle } from './local/handle.js';
export type { PhaseProgress, Progress } from './local/task-progress.js';
export { concat, countWords, forEachWord, sum, words } from './text.js';
