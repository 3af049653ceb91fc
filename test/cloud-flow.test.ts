/**
 * The deployed state machine, executed locally: the definition is taken from the synthesized
 * CloudFormation template (tokens resolved to ARNs), every Lambda ARN is bound to the real
 * handler code (functions/handlers), and S3 is a real S3 protocol server (s3rver). The output
 * must equal the local engine's byte for byte; faults are retried by the definition's own Retry.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { JobCancelledError, toErrorCause } from '../functions/errors.js';
import { createHandlers, type PhaseHandler } from '../functions/handlers/lambda.js';
import type { AnyJob, JobModule } from '../functions/job.js';
import type { JobManifest } from '../functions/phases/commit.js';
import type { MapIndex } from '../functions/phases/map.js';
import { PHASES, type Phase } from '../functions/runtime.js';
import { StorageRouter } from '../functions/storage/index.js';
import { S3Storage, s3ClientFromEnvironment } from '../functions/storage/s3.js';
import type { ItemLocation } from '../functions/storage/uri.js';
import type { StateMachineDefinition } from '../infra/definition.js';
import { StreamingDemoStack } from '../infra/demo-stack.js';
import { definitionFromTemplate, functionHandlers } from '../infra/template-definition.js';
import tfidf from '../jobs/tfidf.js';
import wordcount from '../jobs/wordcount.js';
import { readResults, startJob } from '../sdk/client.js';
import { UnknownJobError } from '../sdk/cloud/registry.js';
import type { ExecutionDescription, StepFunctionsApi } from '../sdk/cloud/stepfunctions.js';
import { defineJob } from '../sdk/define.js';
import { runLocal } from '../sdk/local/engine.js';
import { executeDefinition } from '../sdk/local/execute.js';
import { readItems } from '../sdk/local/items.js';
import { TaskError } from '../sdk/local/pool.js';
import { stateOfTheUnion, writeJsonl } from './datasets.js';
import { MOBY, outputLines, partFiles, ROOT, tempDir } from './helpers.js';
import { GuardedStorage, s3GrantsOf } from './iam-guard.js';
import { type S3Server, startS3Server } from './s3-server.js';

let server: S3Server;
let definition: StateMachineDefinition;
/** Lambda ARN → the phase its function's handler runs, and the S3 grants of its role. */
const phaseOfArn = new Map<string, Phase>();
const grantsOfPhase = new Map<Phase, ReturnType<typeof s3GrantsOf>>();
const files = [
  'data.txt',
  ...fs
    .readdirSync(MOBY)
    .filter((f) => /^chapter_\d+\.txt$/.test(f))
    .slice(0, 30),
];

beforeAll(async () => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const template = Template.fromStack(new StreamingDemoStack(app, 'CloudFlow')).toJSON();
  const arnOf = (logicalId: string) => `arn:aws:lambda:us-east-1:123456789012:function:${logicalId}`;
  definition = definitionFromTemplate(template, arnOf) as StateMachineDefinition;
  for (const [logicalId, handler] of Object.entries(functionHandlers(template))) {
    const phase = handler.split('.').pop() as Phase;
    if (!PHASES.includes(phase)) continue; // CDK's own helper functions (bucket notifications)
    phaseOfArn.set(arnOf(logicalId), phase);
    grantsOfPhase.set(phase, s3GrantsOf(template as never, logicalId));
  }

  server = await startS3Server();
  await server.createBucket('cloud');
  for (const f of files)
    await server.client.send(
      new PutObjectCommand({ Bucket: 'cloud', Key: `input/moby/${f}`, Body: fs.readFileSync(path.join(MOBY, f)) }),
    );
}, 60_000);
afterAll(() => server.stop());

type Fault = (phase: Phase, input: Record<string, unknown>) => void | Promise<void>;

/** Runs the deployed definition; each task invokes the handler as Lambda would, errors reported as Lambda reports them. */
async function runDeployed(
  output: string | Record<string, unknown>,
  fault?: Fault,
  job: JobModule = wordcount as AnyJob,
  /** `after`: runs once the handler succeeded (and may throw: a failure after the task's writes); `duplicate`: phases whose every invocation runs twice at once. */
  more: { after?: Fault; duplicate?: Phase[] } = {},
) {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT'; // the handler-logs test checks what they say
  // Each phase's handler gets S3 only as its role in the template allows.
  const handlers = {} as Record<Phase, PhaseHandler>;
  for (const [phase, grants] of grantsOfPhase) {
    const storage = new StorageRouter(
      () => new GuardedStorage(new S3Storage(s3ClientFromEnvironment()), grants, `the ${phase} function`),
    );
    handlers[phase] = createHandlers(job, storage)[phase];
  }
  const attempts: Record<string, number> = {};
  const invoke = async (resource: string, input: unknown) => {
    const phase = phaseOfArn.get(resource);
    if (!phase) throw new Error(`No function for ${resource}`);
    attempts[phase] = (attempts[phase] ?? 0) + 1;
    try {
      await fault?.(phase, input as Record<string, unknown>);
      const call = () => handlers[phase](input, { awsRequestId: randomUUID() });
      // Duplicate delivery: two attempts of one task run at once; the state machine sees the first's result.
      const result = more.duplicate?.includes(phase) ? (await Promise.all([call(), call()]))[0] : await call();
      await more.after?.(phase, input as Record<string, unknown>);
      return result;
    } catch (e) {
      throw new TaskError(toErrorCause(e));
    }
  };
  const storage = new StorageRouter();
  // As a deployed function has it from the construct: the bucket's scratch prefix.
  process.env.STREAMING_SCRATCH = 's3://cloud/scratch/';
  // A spec as the SDK sends it, or a trigger's event as EventBridge sends it.
  const spec =
    typeof output === 'string'
      ? { input: ['s3://cloud/input/moby/'], output, reducers: 3, splitSize: 250_000 }
      : output;
  const execution = await executeDefinition(definition, spec, {
    invoke,
    readItems: (loc) => readItems(storage, loc as ItemLocation),
    concurrency: 4,
    retryDelayMs: 5,
  });
  return { result: execution.result, abort: execution.abort, attempts };
}

/** Step Functions for the SDK: each execution is the deployed definition run by runDeployed. */
function localStepFunctions(fault?: Fault, job?: JobModule): StepFunctionsApi & { starts: unknown[] } {
  const executions = new Map<string, ExecutionDescription & { abort?: () => void }>();
  const starts: unknown[] = [];
  return {
    starts,
    async startExecution(arn, name, input) {
      starts.push(input);
      const executionArn = `${arn.replace(':stateMachine:', ':execution:')}:${name}`;
      const e: ExecutionDescription & { abort?: () => void } = { status: 'RUNNING' };
      executions.set(executionArn, e);
      const { result, abort } = await runDeployed(input as Record<string, unknown>, fault, job);
      e.abort = abort;
      result.then(
        (out) => Object.assign(e, { status: 'SUCCEEDED', output: JSON.stringify(out) }),
        (err: Error & { cause?: Error }) => {
          if (e.status !== 'ABORTED')
            Object.assign(e, {
              status: 'FAILED',
              error: err.cause?.name ?? err.name,
              cause: err.cause?.message ?? err.message,
            });
        },
      );
      return executionArn;
    },
    async describeExecution(executionArn) {
      const { abort: _, ...d } = executions.get(executionArn)!;
      return d;
    },
    async stopExecution(executionArn) {
      const e = executions.get(executionArn)!;
      e.status = 'ABORTED';
      e.abort?.();
    },
  };
}

async function text(uri: string): Promise<string | undefined> {
  const s = new S3Storage(s3ClientFromEnvironment());
  return (await s.stat(uri)) ? (await s.readAll(uri)).toString('utf8') : undefined;
}

describe('the deployed state machine, executed locally against S3', () => {
  let localParts: [string, string][];

  beforeAll(async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'in'));
    for (const f of files) fs.copyFileSync(path.join(MOBY, f), path.join(dir, 'in', f));
    await runLocal(path.join(ROOT, 'jobs', 'wordcount.ts'), {
      input: path.join(dir, 'in'),
      output: path.join(dir, 'out'),
      reducers: 3,
      splitSize: 250_000,
      workers: 2,
    });
    localParts = partFiles(path.join(dir, 'out')).map((p) => [path.basename(p), fs.readFileSync(p, 'utf8')]);
  }, 60_000);

  const expectSameAsLocal = async (output: string) => {
    for (const [name, body] of localParts) expect(await text(`${output}/${name}`)).toBe(body);
    expect(await text(`${output}/_SUCCESS`)).toBe('');
  };

  it('gives the local engine’s output byte for byte', async () => {
    const { result } = await runDeployed('s3://cloud/output/clean');
    const summary = (await result) as { parts: number; records: number };
    expect(summary.parts).toBe(3);
    await expectSameAsLocal('s3://cloud/output/clean');
  });

  it('retries tasks that fail once and Lambda throttling (Lambda.TooManyRequestsException), with identical output', async () => {
    const failed = new Set<string>();
    const fault: Fault = (phase, input) => {
      const id =
        phase === 'map'
          ? `map-${(input.split as { index: number }).index}`
          : phase === 'reduce'
            ? `reduce-${(input.reducer as { partition: number }).partition}`
            : phase;
      if (failed.has(id)) return;
      failed.add(id);
      if (phase === 'reduce' || phase === 'shuffle') {
        const e = new Error('Rate exceeded');
        e.name = 'Lambda.TooManyRequestsException';
        throw e;
      }
      if (phase !== 'abort') throw new Error(`injected failure of the first attempt of ${id}`);
    };
    const { result, attempts } = await runDeployed('s3://cloud/output/faults', fault);
    await result;
    expect(failed.size).toBeGreaterThan(6);
    expect(attempts.map).toBeGreaterThan(attempts.reduce!);
    await expectSameAsLocal('s3://cloud/output/faults');
  });

  it('gives identical output when every map and reduce task runs twice at once, and when tasks fail after writing', async () => {
    const failedAfter = new Set<string>();
    const after: Fault = (phase, input) => {
      const id = phase === 'map' ? `m${(input.split as { index: number }).index}` : phase;
      // The first attempt of each map task, and of shuffle and commit, fails once its writes are done.
      if (!['map', 'shuffle', 'commit'].includes(phase) || failedAfter.has(id)) return;
      failedAfter.add(id);
      throw new Error(`injected failure after the writes of ${id}`);
    };
    const { result, attempts } = await runDeployed('s3://cloud/output/twice', undefined, wordcount as AnyJob, {
      after,
      duplicate: ['map', 'reduce'],
    });
    await result;
    expect(failedAfter.size).toBeGreaterThan(4);
    expect(attempts.commit).toBe(2);
    await expectSameAsLocal('s3://cloud/output/twice');
  });

  /** Flips a byte inside every non-empty run of every map data object of the job; returns what undoes it. */
  async function flipDataBytes(run: { scratch: string }): Promise<() => Promise<void>> {
    const s3 = new S3Storage(s3ClientFromEnvironment());
    const saved: [string, Buffer][] = [];
    for await (const o of s3.list(`${run.scratch}/map/`)) {
      if (!o.uri.endsWith('.index.json')) continue;
      const index = JSON.parse((await s3.readAll(o.uri)).toString('utf8')) as MapIndex;
      const body = await s3.readAll(index.data!);
      saved.push([index.data!, Buffer.from(body)]);
      for (const [offset, length] of index.runs!) if (length > 0) body[offset + (length >> 1)]! ^= 0x01;
      await s3.write(index.data!, body);
    }
    expect(saved.length).toBeGreaterThan(0);
    return async () => {
      for (const [uri, body] of saved) await s3.write(uri, body);
    };
  }

  it('a flipped byte in intermediate data: the checksum catches it, the retry after it heals gives identical output', async () => {
    let restore: Promise<() => Promise<void>> | undefined;
    let healed: Promise<void> | undefined;
    let calls = 0;
    const fault: Fault = async (phase, input) => {
      // Corrupted between map and reduce; healed for the reducers' retries (a bad read, a bad disk).
      if (phase === 'shuffle') restore ??= flipDataBytes(input.job as { scratch: string });
      if (phase === 'reduce' && ++calls > 3) await (healed ??= restore!.then((undo) => undo()));
    };
    const { result, attempts } = await runDeployed('s3://cloud/output/flipped-once', fault);
    await result;
    expect(attempts.reduce).toBeGreaterThan(3); // every reducer failed on the checksum and was retried
    await expectSameAsLocal('s3://cloud/output/flipped-once');
    // Each failed attempt left its record in scratch (with the reduce role's grants), and Commit put them in the manifest.
    const manifest = JSON.parse((await text('s3://cloud/output/flipped-once/_manifest.json'))!) as JobManifest;
    expect(manifest.failedAttempts.length).toBe(attempts.reduce! - 3);
    for (const f of manifest.failedAttempts) {
      expect(f.phase).toBe('reduce');
      expect(f.error.name).toBe('ChecksumMismatchError');
    }
  });

  it('a flipped byte that stays: every attempt fails on the checksum and the job fails loudly, no _SUCCESS', async () => {
    let flipped = false;
    const fault: Fault = async (phase, input) => {
      if (phase !== 'shuffle' || flipped) return;
      flipped = true;
      await flipDataBytes(input.job as { scratch: string });
    };
    const { result, attempts } = await runDeployed('s3://cloud/output/flipped', fault);
    await expect(result).rejects.toThrow(/checksum/i);
    expect(attempts.reduce).toBeGreaterThanOrEqual(3);
    expect(await text('s3://cloud/output/flipped/_SUCCESS')).toBeUndefined();
    const marker = JSON.parse((await text('s3://cloud/output/flipped/_FAILED'))!);
    expect(marker.error).toBe('ChecksumMismatchError');
    expect(marker.message).toMatch(/\.data/);
  });

  it('fails the execution when a task always fails: _FAILED written, no _SUCCESS, no parts', async () => {
    const fault: Fault = (phase) => {
      if (phase === 'reduce') throw new Error('this reducer never works');
    };
    const { result, attempts } = await runDeployed('s3://cloud/output/broken', fault);
    await expect(result).rejects.toThrow();
    expect(attempts.reduce).toBeGreaterThanOrEqual(3);
    expect(attempts.abort).toBe(1);
    expect(await text('s3://cloud/output/broken/_SUCCESS')).toBeUndefined();
    expect(JSON.parse((await text('s3://cloud/output/broken/_FAILED'))!).message).toContain('this reducer never works');
    const left: string[] = [];
    for await (const o of new S3Storage(s3ClientFromEnvironment()).list('s3://cloud/output/broken/')) left.push(o.uri);
    expect(left).toEqual(['s3://cloud/output/broken/_FAILED']);
  });
});

describe('a multi-step job in the deployed state machine', () => {
  let dir: string;
  let input: string;
  const scratchLeft = async () => {
    const left: string[] = [];
    for await (const o of new S3Storage(s3ClientFromEnvironment()).list('s3://cloud/scratch/')) left.push(o.uri);
    return left;
  };
  beforeAll(async () => {
    dir = tempDir();
    input = writeJsonl(dir, 'sotu', stateOfTheUnion().slice(0, 40), 2);
    for (const f of fs.readdirSync(input))
      await server.client.send(
        new PutObjectCommand({ Bucket: 'cloud', Key: `input/sotu/${f}`, Body: fs.readFileSync(path.join(input, f)) }),
      );
  });
  const registry = async (name: string) => ({
    name,
    stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:TfIdf',
    bucket: 'cloud',
    inputPrefix: 'input/',
    outputPrefix: 'output/',
    scratch: 's3://cloud/scratch/',
  });

  it('runs every step in one execution (Commit loops to Plan), as the local engine does, and leaves no scratch', async () => {
    const opts = { reducers: 2, splitSize: 400_000 };
    const local = { input, output: path.join(dir, 'out'), scratch: path.join(dir, 'scratch'), workers: 2, ...opts };
    await runLocal(path.join(ROOT, 'jobs', 'tfidf.ts'), local);
    const spec = { input: ['s3://cloud/input/sotu/'], output: 's3://cloud/output/tfidf', ...opts };
    const { result } = await runDeployed(spec, undefined, tfidf);
    const summary = (await result) as { parts: number; next?: unknown };
    expect(summary.next).toBeUndefined();
    for (const part of partFiles(path.join(dir, 'out')))
      expect(await text(`s3://cloud/output/tfidf/${path.basename(part)}`)).toBe(fs.readFileSync(part, 'utf8'));
    expect(outputLines(path.join(dir, 'out'))).toHaveLength(40);
    const manifest = JSON.parse((await text('s3://cloud/output/tfidf/_manifest.json'))!);
    expect([manifest.job, manifest.step, manifest.steps]).toEqual(['tfidf-weights', 1, 2]);
    expect(await scratchLeft()).toEqual([]);
  });

  it('is followed step by step through startJob(), and its records are the last step’s', async () => {
    // Step 2's map tasks wait until the test has seen step 2 running (polls alone could miss it).
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const hold: Fault = (phase, e) => {
      if (phase === 'map' && (e.job as { step?: number }).step === 1) return held;
    };
    const job = await startJob({
      job: 'TfIdf',
      input: 's3://cloud/input/sotu/',
      output: 's3://cloud/output/tfidf-sdk',
      stepFunctions: localStepFunctions(hold, tfidf),
      registry,
    });
    let status = await job.status();
    for (let i = 0; i < 1000 && status.step?.index !== 1; i++) {
      await new Promise((r) => setTimeout(r, 10));
      status = await job.status();
    }
    expect(status).toMatchObject({ state: 'RUNNING', phase: 'map', step: { index: 1, of: 2 } });
    release();
    const manifest = await job.wait({ intervalMs: 10 });
    expect(manifest.job).toBe('tfidf-weights');
    let records = 0;
    for await (const r of job.results()) {
      expect(typeof r.value).toBe('object');
      records++;
    }
    expect(records).toBe(40);
  });

  it('cancel() in its second step: no _SUCCESS, _FAILED says cancelled, the steps’ scratch removed', async () => {
    // Step 2's map tasks hold until the end of the test: the cancel surely lands mid-step.
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    const hold: Fault = (phase, e) => {
      if (phase === 'map' && (e.job as { step?: number }).step === 1) return held;
    };
    const job = await startJob({
      job: 'TfIdf',
      input: 's3://cloud/input/sotu/',
      output: 's3://cloud/output/tfidf-cancelled',
      stepFunctions: localStepFunctions(hold, tfidf),
      registry,
    });
    for (let i = 0; i < 1000 && (await job.status()).step?.index !== 1; i++)
      await new Promise((r) => setTimeout(r, 10));
    expect((await job.status()).step?.index).toBe(1);
    await job.cancel();
    await expect(job.wait({ intervalMs: 20 })).rejects.toThrow(JobCancelledError);
    expect(await text('s3://cloud/output/tfidf-cancelled/_SUCCESS')).toBeUndefined();
    expect(JSON.parse((await text('s3://cloud/output/tfidf-cancelled/_FAILED'))!).error).toBe('JobCancelledError');
    expect(await scratchLeft()).toEqual([]);
    // The held tasks run on, as Lambda invocations do after StopExecution; their Task timers would keep Node alive.
    release();
    await new Promise((r) => setTimeout(r, 300));
  });
});

/** AWS's documented sample events (EventBridge "Object Created", "Scheduled Event"), pointed at the test bucket. */
const OBJECT_CREATED = {
  version: '0',
  id: '17793124-05d4-b198-2fde-7ededc63b103',
  'detail-type': 'Object Created',
  source: 'aws.s3',
  account: '111122223333',
  time: '2021-11-12T00:00:00Z',
  region: 'ca-central-1',
  resources: ['arn:aws:s3:::cloud'],
  detail: {
    version: '0',
    bucket: { name: 'cloud' },
    object: {
      key: 'input/uploads/chapter+1.txt',
      size: 5,
      etag: 'b1946ac92492d2347c6235b4d2611184',
      'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
      sequencer: '617f08299329d189',
    },
    'request-id': 'N4N7GDK58NMKJ12R',
    requester: '123456789012',
    'source-ip-address': '1.2.3.4',
    reason: 'PutObject',
  },
};
const SCHEDULED = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2015-10-08T16:53:06Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule'],
  detail: {},
};

describe('triggers: events run through Plan and the whole job', () => {
  beforeAll(async () => {
    // What the construct sets on the Plan function for its triggers.
    Object.assign(process.env, {
      STREAMING_UPLOAD_OUTPUT: 's3://cloud/output/uploads/',
      STREAMING_SCHEDULE_INPUT: 's3://cloud/input/moby/',
      STREAMING_SCHEDULE_OUTPUT: 's3://cloud/output/scheduled/',
      STREAMING_PROTECTED: 's3://cloud/output/,s3://cloud/scratch/',
    });
    await server.client.send(
      new PutObjectCommand({
        Bucket: 'cloud',
        Key: 'input/uploads/chapter 1.txt',
        Body: 'Call me Ishmael. Call me.\n',
      }),
    );
  });

  it('an S3 Object Created event runs the job on that object, into <outputPrefix><key>/', async () => {
    const { result } = await runDeployed(OBJECT_CREATED);
    await result;
    const out = 's3://cloud/output/uploads/input/uploads/chapter 1.txt';
    const parts: string[] = [];
    for (let r = 0; r < 4; r++) parts.push((await text(`${out}/part-r-0000${r}`)) ?? '');
    expect(parts.join('').split('\n').filter(Boolean).sort()).toEqual(['call\t2', 'ishmael\t1', 'me\t2']);
    expect(await text(`${out}/_SUCCESS`)).toBe('');
  });

  it('a Scheduled Event runs over the fixed input into a folder stamped with its time', async () => {
    const { result } = await runDeployed(SCHEDULED);
    const summary = (await result) as { output: string; records: number };
    expect(summary.output).toBe('s3://cloud/output/scheduled/20151008T165306Z/');
    expect(summary.records).toBeGreaterThan(1000);
    expect(await text('s3://cloud/output/scheduled/20151008T165306Z/_SUCCESS')).toBe('');
  });

  it('an object a job wrote never starts a job (no loops)', async () => {
    const own = structuredClone(OBJECT_CREATED);
    own.detail.object.key = 'output/uploads/input/uploads/chapter 1.txt/part-r-00000';
    const { result, attempts } = await runDeployed(own);
    await expect(result).rejects.toThrow(/where jobs write: it does not start a job/);
    expect(attempts.plan).toBe(1); // InvalidJobError is not retried
    expect(attempts.map).toBeUndefined();
  });
});

describe('startJob() and its handle, against the deployed flow', () => {
  const ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:WordCount';
  const registry = async (name: string) => {
    if (name !== 'WordCount') throw new UnknownJobError(`No deployed job named "${name}"`);
    return {
      name,
      stateMachineArn: ARN,
      bucket: 'cloud',
      inputPrefix: 'input/',
      outputPrefix: 'output/',
      scratch: 's3://cloud/scratch/',
    };
  };

  it('starts a job by name, reports progress, and gives its summary and records, parts in order', async () => {
    // Word count that also counts its lines, so the counters have something to sum.
    const counting = defineJob({
      ...(wordcount as AnyJob),
      map(line: string, emit, ctx) {
        ctx.count('lines');
        return (wordcount as AnyJob).map!(line, emit, ctx);
      },
    }) as AnyJob;
    const sfn = localStepFunctions(undefined, counting);
    const job = await startJob({
      job: 'WordCount',
      input: 's3://cloud/input/moby/',
      output: 's3://cloud/output/sdk',
      reducers: 3,
      splitSize: 250_000,
      stepFunctions: sfn,
      registry,
    });
    expect(sfn.starts[0]).toMatchObject({ jobId: job.id, scratch: 's3://cloud/scratch/', reducers: 3 });
    const seen: string[] = [];
    const manifest = await job.wait({ intervalMs: 20, onProgress: (s) => seen.push(`${s.state}:${s.phase}`) });
    expect(seen.at(-1)).toBe('SUCCEEDED:done');
    expect(manifest.parts).toHaveLength(3);
    const status = await job.status();
    expect(status.map.done).toBe(status.map.total);
    expect(status.reduce).toEqual({ done: 3, total: 3 });
    expect(status.counters).toEqual(manifest.counters);
    expect(manifest.counters.lines).toBeGreaterThan(20_000);

    const records: unknown[] = [];
    for await (const r of job.results()) records.push(r);
    const expected: unknown[] = [];
    for (const part of manifest.parts)
      for (const line of (await text(part.uri))!.split('\n').filter(Boolean)) {
        const [key, value] = line.split('\t');
        expected.push({ key, value });
      }
    expect(records).toEqual(expected);
    expect(records.length).toBe(manifest.records);
  });

  it('streams results lazily: the first record comes before the last part is read', async () => {
    const manifest = await startJob({
      stateMachineArn: ARN,
      scratch: 's3://cloud/scratch/',
      input: 's3://cloud/input/moby/',
      output: 's3://cloud/output/lazy',
      reducers: 4,
      splitSize: 250_000,
      stepFunctions: localStepFunctions(),
    }).then((j) => j.wait({ intervalMs: 20 }));
    const reads: string[] = [];
    const storage = new StorageRouter(() => {
      const inner = new S3Storage(s3ClientFromEnvironment());
      return Object.assign(Object.create(inner), {
        read: (uri: string, range?: never) => {
          reads.push(uri);
          return inner.read(uri, range);
        },
      });
    });
    const it = readResults(storage, manifest)[Symbol.asyncIterator]();
    await it.next();
    expect(reads).toEqual([manifest.parts[0]!.uri]);
    await it.return?.();
  });

  it('cancel() mid-job: no _SUCCESS, _FAILED says cancelled, parts and scratch removed', async () => {
    const slow: Fault = (phase) => {
      if (phase === 'map') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 150);
    };
    const job = await startJob({
      job: 'WordCount',
      input: 's3://cloud/input/moby/',
      output: 's3://cloud/output/cancelled',
      splitSize: 100_000,
      stepFunctions: localStepFunctions(slow),
      registry,
    });
    await new Promise((r) => setTimeout(r, 300));
    expect((await job.status()).state).toBe('RUNNING');
    await job.cancel();
    await expect(job.wait({ intervalMs: 20 })).rejects.toThrow(JobCancelledError);
    await new Promise((r) => setTimeout(r, 500)); // tasks already running finish; nothing may complete the job
    expect(await text('s3://cloud/output/cancelled/_SUCCESS')).toBeUndefined();
    expect(JSON.parse((await text('s3://cloud/output/cancelled/_FAILED'))!).error).toBe('JobCancelledError');
    const left: string[] = [];
    for await (const o of new S3Storage(s3ClientFromEnvironment()).list(`s3://cloud/scratch/${job.id}/`))
      left.push(o.uri);
    expect(left.filter((u) => !u.includes('/map/'))).toEqual([]);
  });

  it('names an unknown job clearly', async () => {
    await expect(
      startJob({
        job: 'Nope',
        input: 's3://cloud/input/',
        output: 's3://cloud/output/x',
        stepFunctions: localStepFunctions(),
        registry,
      }),
    ).rejects.toThrow(/No deployed job named "Nope"/);
  });
});
