/**
 * `streaming start | status | wait | cancel | cat | ls`: cloud jobs from a shell. The AWS
 * configuration is the standard one (profile, region, AWS_ENDPOINT_URL for LocalStack);
 * `--endpoint` sets AWS_ENDPOINT_URL for this command.
 */
import { parseArgs } from 'node:util';
import { JobCancelledError, JobFailedError } from '../functions/errors.js';
import type { JobManifest } from '../functions/phases/commit.js';
import { layout } from '../functions/spec.js';
import { StorageRouter } from '../functions/storage/index.js';
import { normalizeUri } from '../functions/storage/uri.js';
import { count, JOB_OPTIONS, params, size, UsageError } from './cli-args.js';
import { attachJob, type JobHandle, type JobStatus, readResults, startJob } from './client.js';
import { progressReporter } from './progress.js';

export const CLOUD_USAGE = `Cloud jobs (a deployed StreamingJob):
  streaming start <job-name> --input <s3://…>... --output <s3://…> [--reducers N] [--split-size 64MiB] [--param k=v] [--step N] [--strict-utf8] [--wait]
  streaming status <execution-arn>      state, phase and task progress
  streaming wait <execution-arn>        follow until done (progress on stderr)
  streaming cancel <execution-arn>      stop the job; no _SUCCESS, scratch removed
  streaming cat <output>                print a completed job's records (parts in order)
  streaming ls <output>                 the parts of a job's output and whether it completed
Common: --endpoint <url> (e.g. http://localhost:4566 for LocalStack), --quiet
`;

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

function progressLine(s: JobStatus): string {
  const f = (p: { done: number; total: number | undefined }) => `${p.done}/${p.total ?? '?'}`;
  return `${s.state.toLowerCase()} ${s.phase}: map ${f(s.map)}, reduce ${f(s.reduce)}`;
}

/** Follows a job to its end: bars on a terminal (the same reporter as `streaming run`), lines otherwise. */
async function follow(job: JobHandle, quiet: boolean): Promise<JobManifest> {
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

export async function cloudCommand(command: string, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...JOB_OPTIONS, wait: { type: 'boolean' }, endpoint: { type: 'string' } },
  });
  if (values.endpoint) process.env.AWS_ENDPOINT_URL = values.endpoint;
  const [target] = positionals;
  if (!target) throw new UsageError(`${command} needs an argument.\n${CLOUD_USAGE}`);
  const quiet = values.quiet ?? false;
  switch (command) {
    case 'start': {
      if (!values.input?.length || !values.output)
        throw new UsageError('start needs --input <s3://…> and --output <s3://…>');
      const job = await startJob({
        job: target,
        input: values.input,
        output: values.output,
        params: params(values.param),
        ...(values.reducers !== undefined ? { reducers: count('reducers', values.reducers, 0)! } : {}),
        ...(values['split-size'] !== undefined ? { splitSize: size('split-size', values['split-size'])! } : {}),
        ...(values.overwrite ? { overwrite: true } : {}),
        ...(values.step !== undefined ? { step: count('step', values.step, 0)! } : {}),
        ...(values['strict-utf8'] ? { strictUtf8: true } : {}),
      });
      process.stdout.write(`${job.executionArn}\n`);
      if (!quiet) process.stderr.write(`started job ${job.id}; follow it with: streaming wait ${job.executionArn}\n`);
      if (values.wait) await follow(job, quiet);
      return 0;
    }
    case 'status': {
      const s = await (await attachJob(target)).status();
      process.stdout.write(`${progressLine(s)}\n`);
      return s.state === 'FAILED' || s.state === 'TIMED_OUT' ? 1 : 0;
    }
    case 'wait': {
      const m = await follow(await attachJob(target), quiet);
      process.stdout.write(`succeeded: ${m.parts.length} parts, ${m.records} records in ${m.output}\n`);
      return 0;
    }
    case 'cancel': {
      const job = await attachJob(target);
      await job.cancel();
      process.stdout.write(`cancelled job ${job.id}; ${job.output} holds no result\n`);
      return 0;
    }
    case 'cat':
    case 'ls': {
      const output = normalizeUri(target);
      const storage = new StorageRouter();
      let manifest: JobManifest;
      try {
        manifest = await storage.readJson<JobManifest>(layout.manifest(output));
      } catch {
        const failed = await storage.for(output).stat(layout.failed(output));
        throw new UsageError(`${output} holds no completed job${failed ? ' (it has _FAILED: the job failed)' : ''}.`);
      }
      if (command === 'ls') {
        for (const p of manifest.parts)
          process.stdout.write(`${String(p.bytes).padStart(12)}  ${String(p.records).padStart(10)}  ${p.uri}\n`);
        process.stdout.write(
          `job ${manifest.jobId} (${manifest.job}) completed: ${manifest.parts.length} parts, ${manifest.records} records\n`,
        );
        return 0;
      }
      for await (const r of readResults(storage, manifest)) {
        const text = (x: unknown) => (typeof x === 'string' ? x : JSON.stringify(x));
        if (!process.stdout.write(`${text(r.key)}\t${text(r.value)}\n`))
          await new Promise((res) => process.stdout.once('drain', res));
      }
      return 0;
    }
  }
  throw new UsageError(`unknown command "${command}"`);
}

export function cloudExitCode(e: unknown): { code: number; message: string } | undefined {
  if (e instanceof JobCancelledError) return { code: 130, message: e.message };
  if (e instanceof JobFailedError) return { code: 1, message: `job failed: ${e.errorType}: ${e.message}` };
  const aws = explainAwsError(e);
  if (aws) return { code: 1, message: aws };
  return undefined;
}
