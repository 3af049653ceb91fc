/**
 * The deployed bundle itself (esbuild, as `cdk synth` makes it) of a job module that throws on
 * load: the handler module must still load, Abort must write `_FAILED`, the other phases must
 * fail with InvalidJobError naming the module's error. A static import of the job would fail the
 * whole bundle at start (Runtime.ImportModuleError): no Abort, no `_FAILED`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import { StreamingJob } from '../infra/streaming-job.js';
import { FIXTURES, tempDir } from './helpers.js';

type Handler = (event: unknown, context: { awsRequestId: string }) => Promise<unknown>;
let handlers: Record<'plan' | 'abort', Handler>;

beforeAll(async () => {
  const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'streaming-cdk-')) });
  const stack = new Stack(app, 'Unloadable');
  new StreamingJob(stack, 'Job', { job: path.join(FIXTURES, 'throws-on-load.ts') });
  const assembly = app.synth();
  const template = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'Unloadable.template.json'), 'utf8')) as {
    Resources: Record<string, { Type: string; Properties: { Handler?: string; Code?: { S3Key?: string } } }>;
  };
  // Each function's code is the asset whose hash names its S3 key (`<hash>.zip`).
  const assetOf = (phase: string) => {
    const fn = Object.values(template.Resources).find((r) => r.Properties.Handler === `index.${phase}`)!;
    const hash = fn.Properties.Code!.S3Key!.replace(/\.zip$/, '');
    return path.join(assembly.directory, `asset.${hash}`, 'index.mjs');
  };
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  handlers = {
    plan: (await import(pathToFileURL(assetOf('plan')).href)).plan,
    abort: (await import(pathToFileURL(assetOf('abort')).href)).abort,
  };
}, 120_000);

describe('a job module that throws on load, in its deployed bundle', () => {
  it('loads the handler module; the phases that need the job fail with InvalidJobError naming its error', async () => {
    const dir = tempDir();
    await expect(
      handlers.plan({ input: [dir], output: path.join(dir, 'out') }, { awsRequestId: 'plan-1' }),
    ).rejects.toMatchObject({
      retryable: false, // InvalidJobError (its name in the minified bundle is issue 14's bug 1, not checked here)
      message: expect.stringMatching(/^The job module threw while loading: cannot load the tokenizer model/),
    });
  });

  it('Abort (which never loads the job) writes _FAILED with the cause', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const run = {
      jobId: 'never-1',
      name: 'never',
      output: out,
      scratch: path.join(dir, 'scratch'),
      reducers: 0,
      keepScratch: false,
      step: 0,
      steps: 1,
    };
    const cause = { errorType: 'InvalidJobError', errorMessage: 'The job module threw while loading: boom' };
    await handlers.abort(
      { job: run, error: { Error: 'InvalidJobError', Cause: JSON.stringify(cause) } },
      { awsRequestId: 'a' },
    );
    expect(JSON.parse(fs.readFileSync(path.join(out, '_FAILED'), 'utf8'))).toMatchObject({
      jobId: 'never-1',
      error: 'InvalidJobError',
      message: 'The job module threw while loading: boom',
    });
  });
});
