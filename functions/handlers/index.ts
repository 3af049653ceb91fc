/**
 * The Lambda entry point. `streaming-job` is the user's job module: the CDK construct bundles
 * this file with esbuild and aliases `streaming-job` to the job's path, so each deployed
 * function carries exactly one job module. Each phase is a named export (the function's `handler`).
 *
 * The job's module is imported when a task first needs it, not when the container starts:
 * esbuild keeps a bundled module behind a dynamic import lazy, so a module that throws on load
 * fails its tasks with InvalidJobError (caught into Abort), and Abort, which never loads it,
 * writes `_FAILED`.
 */
// First: the job's module is evaluated after it, knowing it runs inside a task.
import './in-task-mark.js';
import { jobOfModule } from '../executor.js';
import { createHandlers } from './lambda.js';

// A job module's default export; or, for a module of executor functions, the executor job over its exports.
export const { plan, map, shuffle, reduce, commit, abort } = createHandlers(async () =>
  jobOfModule(await import('streaming-job'), 'the module bundled into this function'),
);
