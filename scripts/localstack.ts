/**
 * `npm run test:localstack`: the product on LocalStack, end to end, as a user would use it.
 *
 * 1. Deploys the demo stack (infra/app.ts) with `cdklocal` (aws-cdk-local) to the LocalStack at
 *    $LOCALSTACK_ENDPOINT (bootstrapping it first).
 * 2. Uploads real text (Moby-Dick) under `input/`: the upload trigger starts word count, which
 *    must write `output/<key>/` with `_SUCCESS`.
 * 3. Starts word count over the same object with the SDK's `startJob()` and waits for it.
 * 4. Runs the same job on the local engine, and checks both cloud outputs against it: the SDK
 *    run (same reducers) part by part, byte for byte; the upload run (the deployment's reducers)
 *    record by record.
 * Without LOCALSTACK_ENDPOINT it prints one line saying it was skipped, and why.
 *
 * Settings LocalStack needs: docs/deploying.md ("LocalStack"). LOCALSTACK_KEEP_STACK=1 leaves
 * the stack deployed afterwards.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Storage, s3ClientFromEnvironment } from '../functions/storage/s3.js';
import { runLocal, startJob } from '../sdk/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BOOK = path.join(ROOT, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data', 'data.txt');
const JOB = path.join(ROOT, 'jobs', 'wordcount.ts');
const CDKLOCAL = path.join(ROOT, 'node_modules', '.bin', 'cdklocal');
const STACK = 'StreamingDemo';
/** LocalStack's default account. */
const ACCOUNT = '000000000000';
/** How long a run may take on LocalStack (cold Lambda containers, image pulls on first use). */
const RUN_TIMEOUT_MS = 20 * 60_000;
/** LocalStack services the demo stack uses. */
const SERVICES = ['cloudformation', 'iam', 's3', 'lambda', 'stepfunctions', 'events', 'ssm', 'logs', 'sts'];

class LocalStackTestError extends Error {
  override name = 'LocalStackTestError';
}

const say = (line: string) => process.stdout.write(`test:localstack: ${line}\n`);

async function main(): Promise<void> {
  const endpoint = process.env.LOCALSTACK_ENDPOINT;
  if (!endpoint) {
    say(
      'skipped: LOCALSTACK_ENDPOINT is not set (it needs a running LocalStack, e.g. LOCALSTACK_ENDPOINT=http://localhost:4566; this CI has no Docker engine to run one).',
    );
    return;
  }
  const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  // One configuration for cdklocal, the SDK and the storage layer: every client goes to LocalStack.
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    CDK_DEFAULT_ACCOUNT: ACCOUNT,
    CDK_DEFAULT_REGION: region,
  });
  await checkHealth(endpoint);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'streaming-localstack-'));
  const outputsFile = path.join(work, 'outputs.json');
  cdklocal(['bootstrap', `aws://${ACCOUNT}/${region}`]);
  cdklocal(['deploy', STACK, '--require-approval', 'never', '--outputs-file', outputsFile]);
  const outputs = JSON.parse(fs.readFileSync(outputsFile, 'utf8'))[STACK] as {
    BucketName?: string;
    StateMachineArn?: string;
  };
  if (!outputs.BucketName) throw new LocalStackTestError(`The deployed stack has no BucketName output: ${outputsFile}`);
  const bucket = outputs.BucketName;
  say(`deployed ${STACK}: bucket ${bucket}, state machine ${outputs.StateMachineArn}`);

  try {
    const storage = new S3Storage(s3ClientFromEnvironment());
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    const key = `input/localstack-${stamp}/moby-dick.txt`;

    // The reference: the local engine over the same bytes.
    const localOut = path.join(work, 'local');
    const reducers = 4;
    await runLocal(JOB, { input: BOOK, output: localOut, reducers });
    const localParts = fs
      .readdirSync(localOut)
      .filter((f) => f.startsWith('part-'))
      .sort();
    const localRecords = localParts.flatMap((f) => lines(fs.readFileSync(path.join(localOut, f), 'utf8'))).sort();

    // Deploy, then upload: the trigger runs word count on the object.
    await storage.write(`s3://${bucket}/${key}`, fs.readFileSync(BOOK));
    const uploadOut = `s3://${bucket}/output/${key}/`;
    say(`uploaded s3://${bucket}/${key}; waiting for ${uploadOut}_SUCCESS`);
    await untilDone(storage, uploadOut);
    const uploadRecords = (await partsText(storage, uploadOut)).flatMap(lines).sort();
    if (JSON.stringify(uploadRecords) !== JSON.stringify(localRecords))
      throw new LocalStackTestError(
        `The upload-triggered run's records differ from the local engine's: ${uploadRecords.length} records in ${uploadOut}, ${localRecords.length} locally.`,
      );
    say(`upload-triggered run: ${uploadRecords.length} records, equal to the local engine's`);

    // startJob() through the SSM registry, as an application would.
    const sdkOut = `s3://${bucket}/output/localstack-sdk-${stamp}/`;
    const job = await startJob({ job: 'WordCount', input: `s3://${bucket}/${key}`, output: sdkOut, reducers });
    const manifest = await withTimeout(job.wait({ intervalMs: 5000 }), `startJob() run ${job.id}`);
    const sdkParts = await partsText(storage, sdkOut);
    if (sdkParts.length !== localParts.length)
      throw new LocalStackTestError(
        `startJob() wrote ${sdkParts.length} parts, the local engine ${localParts.length}.`,
      );
    localParts.forEach((f, i) => {
      if (sdkParts[i] !== fs.readFileSync(path.join(localOut, f), 'utf8'))
        throw new LocalStackTestError(`startJob()'s ${f} differs from the local engine's (${sdkOut}).`);
    });
    say(
      `startJob() run ${job.id}: ${manifest.parts.length} parts, byte for byte the local engine's (${manifest.input.bytes} bytes in)`,
    );
    say('passed');
  } finally {
    if (process.env.LOCALSTACK_KEEP_STACK !== '1') cdklocal(['destroy', STACK, '--force']);
  }
}

/** Fails unless LocalStack answers and runs every service the stack uses. */
async function checkHealth(endpoint: string): Promise<void> {
  let health: { services?: Record<string, string>; version?: string };
  try {
    health = (await (await fetch(new URL('/_localstack/health', endpoint))).json()) as typeof health;
  } catch (e) {
    throw new LocalStackTestError(
      `No LocalStack answers at ${endpoint} (${(e as Error).message}). Start it (docs/deploying.md, "LocalStack") or fix LOCALSTACK_ENDPOINT.`,
    );
  }
  const missing = SERVICES.filter((s) => !['available', 'running'].includes(health.services?.[s] ?? ''));
  if (missing.length)
    throw new LocalStackTestError(
      `LocalStack ${health.version ?? ''} at ${endpoint} does not offer ${missing.join(', ')} (see /_localstack/health).`,
    );
  say(`LocalStack ${health.version ?? '(version unknown)'} at ${endpoint}`);
}

function cdklocal(args: string[]): void {
  const run = spawnSync(CDKLOCAL, args, { cwd: ROOT, stdio: 'inherit', env: process.env });
  if (run.error) throw new LocalStackTestError(`cdklocal could not start: ${run.error.message} (npm ci installs it).`);
  if (run.status !== 0) throw new LocalStackTestError(`cdklocal ${args.join(' ')} exited with ${run.status}.`);
}

/** Waits for the run writing `output` to end: `_SUCCESS`, or `_FAILED` (its cause is the error). */
async function untilDone(storage: S3Storage, output: string): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < RUN_TIMEOUT_MS) {
    if (await storage.stat(`${output}_SUCCESS`)) return;
    if (await storage.stat(`${output}_FAILED`)) {
      const failed = JSON.parse((await storage.readAll(`${output}_FAILED`)).toString('utf8')) as {
        error: string;
        message: string;
      };
      throw new LocalStackTestError(`The upload-triggered run failed: ${failed.error}: ${failed.message}`);
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
  throw new LocalStackTestError(
    `No _SUCCESS in ${output} after ${RUN_TIMEOUT_MS / 60_000} min: did the upload start the state machine? (EventBridge rule, bucket notifications; see the state machine's executions)`,
  );
}

async function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new LocalStackTestError(`${what} did not end within ${RUN_TIMEOUT_MS / 60_000} min.`)),
      RUN_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The text of each part under `output`, in part order. */
async function partsText(storage: S3Storage, output: string): Promise<string[]> {
  const parts: string[] = [];
  for await (const o of storage.list(output)) if (/\/part-[mr]-\d+$/.test(o.uri)) parts.push(o.uri);
  parts.sort();
  return Promise.all(parts.map(async (p) => (await storage.readAll(p)).toString('utf8')));
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

main().catch((e: Error) => {
  process.stderr.write(`test:localstack: FAILED: ${e.name === 'LocalStackTestError' ? e.message : (e.stack ?? e)}\n`);
  process.exitCode = 1;
});
