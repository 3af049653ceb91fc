/**
 * What the cloud commands (`start`, `status`, `wait`, `cancel`, `cat`, `ls`) share. The AWS
 * configuration is the standard one (profile, region, AWS_ENDPOINT_URL for LocalStack);
 * `--endpoint` sets AWS_ENDPOINT_URL for the command.
 */
import { JobCancelledError, JobFailedError } from '../../functions/errors.js';
import type { JobManifest } from '../../functions/phases/commit.js';
import { layout } from '../../functions/spec.js';
import type { StorageRouter } from '../../functions/storage/index.js';
import { normalizeUri } from '../../functions/storage/uri.js';
import type { JobHandle, JobStatus } from '../client.js';
import { progressReporter } from '../progress.js';
import { UsageError } from './options.js';

/** Applies `--endpoint` and returns the command's one argument, refusing its absence. */
export function cloudTarget(
  command: string,
  synopsis: string,
  values: { endpoint?: string },
  positionals: string[],
): string {
  if (values.endpoint) process.env.AWS_ENDPOINT_URL = values.endpoint;
  const [target] = positionals;
  if (!target) throw new UsageError(`${command} needs an argument: streaming ${command} ${synopsis}`);
  return target;
}

/** Turns the AWS SDK's errors into one line a shell user can act on. */
export function explainAwsError(e: unknown): string | undefined {
  const name = (e as { name?: string }).name ?? '';
  if (name === 'CredentialsProviderError' || /Could not load credentials/.test(String((e as Error).message)))
    return 'no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and AWS_REGION';
  if (name === 'ExecutionDoesNotExist') return 'no such execution: check the ARN `streaming start` printed';
  if (name === 'StateMachineDoesNotExist')
    return 'the job’s state machine does not exist: is the stack deployed in this region?';
  if (name === 'AccessDeniedException' || name === 'AccessDenied') return `access denied: ${(e as Error).message}`;
  return undefined;
}

/** The exit code and message of a cloud failure, or undefined when `e` is not one. */
export function cloudExitCode(e: unknown): { code: number; message: string } | undefined {
  if (e instanceof JobCancelledError) return { code: 130, message: e.message };
  if (e instanceof JobFailedError) return { code: 1, message: `job failed: ${e.errorType}: ${e.message}` };
  const aws = explainAwsError(e);
  if (aws) return { code: 1, message: aws };
  return undefined;
}

export function progressLine(s: JobStatus): string {
  const f = (p: { done: number; total: number | undefined }) => `${p.done}/${p.total ?? '?'}`;
  return `${s.state.toLowerCase()} ${s.phase}: map ${f(s.map)}, reduce ${f(s.reduce)}`;
}

/** Follows a job to its end: bars on a terminal (the same reporter as `streaming run`), lines otherwise. */
export async function follow(job: JobHandle, quiet: boolean): Promise<JobManifest> {
  const reporter = progressReporter({ quiet, tty: process.stderr.isTTY === true });
  const phase = (p: { done: number; total: number | undefined }) => ({ ...p, running: 0, failedAttempts: 0 });
  try {
    return await job.wait({
      onProgress: (s) =>
        reporter.update({
          phase: s.phase === 'reduce' ? 'reduce' : 'map',
          step: 0,
          steps: 1,
          map: phase(s.map),
          reduce: phase(s.reduce),
        }),
    });
  } finally {
    reporter.stop();
  }
}

/** The manifest of the completed job at `target`, or a UsageError saying why there is none. */
export async function completedManifest(
  storage: StorageRouter,
  target: string,
): Promise<{ output: string; manifest: JobManifest }> {
  const output = normalizeUri(target);
  try {
    return { output, manifest: await storage.readJson<JobManifest>(layout.manifest(output)) };
  } catch {
    const failed = await storage.for(output).stat(layout.failed(output));
    throw new UsageError(`${output} holds no completed job${failed ? ' (it has _FAILED: the job failed)' : ''}.`);
  }
}
