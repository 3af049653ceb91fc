/**
 * The Lambda entry point. `streaming-job` is the user's job module: the CDK construct bundles
 * this file with esbuild and aliases `streaming-job` to the job's path, so each deployed
 * function carries exactly one job. Each phase is a named export (the function's `handler`).
 */
import job from 'streaming-job';
import { createHandlers } from './lambda.js';

export const { plan, map, shuffle, reduce, commit, abort } = createHandlers(job);
