/**
 * The CDK app the cloud tests deploy (into the harness): the project's own demo stack, exactly
 * as `npx cdk deploy` deploys it, and a stack of test jobs built with the same StreamingJob
 * construct, for what the demo does not cover (triggers, a multi-step job, a map-only job, and
 * jobs whose functions are sized down so AWS's limits can be reached in a test).
 */
import path from 'node:path';
import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { StreamingDemoStack } from '../../infra/demo-stack.js';
import { StreamingJob } from '../../infra/streaming-job.js';
import { FIXTURES, ROOT } from '../helpers.js';

/** Construct paths of the deployed jobs, as the tests name them. */
export const JOBS = {
  wordCount: 'StreamingDemo/WordCount',
  triggers: 'CloudTest/Triggers',
  tfidf: 'CloudTest/TfIdf',
  mapOnly: 'CloudTest/MapOnly',
  /** Word count that counts its lines (test/fixtures/steps/count.ts): counters to sum. */
  counting: 'CloudTest/Counting',
  /** test/fixtures/limits.ts with its functions sized down: limits a test reaches in seconds. */
  limits: 'CloudTest/Limits',
  /** A module of executor functions (docs/examples/parameter-sweep.mjs), for executor({ deployed }). */
  sweep: 'CloudTest/Sweep',
  /** A job module that throws when it loads (test/fixtures/throws-on-load.ts). */
  unloadable: 'CloudTest/Unloadable',
} as const;

/** Files whose content decides the assembly (the harness re-synthesizes when one changes). */
export const APP_SOURCES = [
  'functions',
  'infra',
  'sdk',
  'jobs',
  'test/fixtures',
  'test/cloud/app.ts',
  'docs/examples',
  'package.json',
  'package-lock.json',
];

export function buildTestApp(outdir: string): App {
  // Path metadata: the harness finds each job's resources by construct path.
  const app = new App({ outdir, context: { 'aws:cdk:enable-path-metadata': true } });
  new StreamingDemoStack(app, 'StreamingDemo');
  const stack = new Stack(app, 'CloudTest');
  const job = (name: string) => path.join(ROOT, 'jobs', name);
  new StreamingJob(stack, 'Triggers', {
    job: job('wordcount.ts'),
    onUpload: { prefix: 'input/uploads/', outputPrefix: 'output/uploads/' },
    schedule: {
      schedule: events.Schedule.cron({ minute: '0', hour: '6' }),
      inputPrefix: 'input/moby/',
      outputPrefix: 'output/scheduled/',
    },
  });
  new StreamingJob(stack, 'TfIdf', { job: job('tfidf.ts') });
  new StreamingJob(stack, 'MapOnly', { job: path.join(FIXTURES, 'wordcount-maponly.ts') });
  new StreamingJob(stack, 'Unloadable', { job: path.join(FIXTURES, 'throws-on-load.ts') });
  new StreamingJob(stack, 'Counting', { job: path.join(FIXTURES, 'steps', 'count.ts') });
  new StreamingJob(stack, 'Sweep', { job: path.join(ROOT, 'docs', 'examples', 'parameter-sweep.mjs') });
  new StreamingJob(stack, 'Limits', {
    job: path.join(FIXTURES, 'limits.ts'),
    timeout: Duration.seconds(5),
    memorySize: { map: 256, reduce: 256, control: 256 },
    ephemeralStorageSize: Size.mebibytes(512),
  });
  return app;
}
