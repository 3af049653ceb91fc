#!/usr/bin/env node
/**
 * `streaming` command line. `run` executes a job on this machine with the local engine.
 * Exit codes: 0 done, 1 the job failed, 2 bad usage or options, 130 cancelled (Ctrl-C).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { JobCancelledError, JobFailedError, StreamingError } from '../functions/errors.js';
import type { JobManifest } from '../functions/phases/commit.js';
import { layout } from '../functions/spec.js';
import { StorageRouter } from '../functions/storage/index.js';
import { normalizeUri } from '../functions/storage/uri.js';
import { count, JOB_OPTIONS, params, size, UsageError } from './cli-args.js';
import { CLOUD_USAGE, cloudCommand, cloudExitCode } from './cli-cloud.js';
import { type EstimateOptions, estimateCost, formatEstimate } from './estimate.js';
import { type LocalRunOptions, runLocal } from './local/engine.js';
import { progressReporter } from './progress.js';
import { renderReport } from './report.js';

const CLOUD_COMMANDS = ['start', 'status', 'wait', 'cancel', 'cat', 'ls'];

const USAGE = `Usage: streaming run <job.ts> --input <path>... --output <dir> [options]

Runs a job on this machine (worker threads, local files).

Options:
  -i, --input <path>       input file, directory or glob (repeatable)
  -o, --output <dir>       output directory
  -r, --reducers <n>       reduce partitions (0: map-only)           [default: the job's, else 4]
      --split-size <size>  bytes per map task, e.g. 64MiB             [default: 64MiB]
      --sort-buffer <size> map-side sort/combine buffer per task      [default: 64MiB]
  -w, --workers <n>        worker threads                             [default: one per core]
      --worker-memory <size> heap limit of each worker                [default: 512MiB]
  -p, --param <k=v>        job parameter (repeatable)
      --overwrite          replace an output that holds a completed job
      --step <n>           run only step n (from 0) of a multi-step job [default: every step]
      --strict-utf8        fail on invalid UTF-8 input               [default: read it as U+FFFD]
      --scratch <dir>      where intermediate data goes               [default: OS temp dir]
      --keep-scratch       keep intermediate data
      --attempts <n>       attempts per task before the job fails     [default: 3]
      --quiet              no progress
      --verbose            print the stack of a failure
  -h, --help               this help
`;

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...JOB_OPTIONS,
      'sort-buffer': { type: 'string' },
      workers: { type: 'string', short: 'w' },
      'worker-memory': { type: 'string' },
      scratch: { type: 'string' },
      'keep-scratch': { type: 'boolean' },
      attempts: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const [jobPath, ...rest] = positionals;
  if (!jobPath) throw new UsageError('give the job module: streaming run <job.ts> --input <path> --output <dir>');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}" (inputs go after --input)`);
  if (!values.input?.length) throw new UsageError('give at least one --input <path>');
  if (!values.output) throw new UsageError('give --output <dir>');
  const options: LocalRunOptions = { input: values.input, output: values.output, params: params(values.param) };
  const set = <K extends keyof LocalRunOptions>(k: K, v: LocalRunOptions[K] | undefined) => {
    if (v !== undefined) options[k] = v;
  };
  set('reducers', count('reducers', values.reducers, 0));
  set('splitSize', size('split-size', values['split-size']));
  set('sortBufferBytes', size('sort-buffer', values['sort-buffer']));
  set('workers', count('workers', values.workers, 1));
  const heap = size('worker-memory', values['worker-memory']);
  if (heap !== undefined && heap < 2 ** 20)
    throw new UsageError(
      `--worker-memory ${values['worker-memory']} is ${heap} bytes: give it with a unit, e.g. --worker-memory 512MiB`,
    );
  if (heap !== undefined) options.workerHeapMiB = Math.round(heap / 2 ** 20);
  set('taskAttempts', count('attempts', values.attempts, 1));
  set('overwrite', values.overwrite);
  set('step', count('step', values.step, 0));
  set('strictUtf8', values['strict-utf8']);
  set('scratch', values.scratch);
  set('keepScratch', values['keep-scratch']);

  const controller = new AbortController();
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    process.stderr.write('\nstreaming: cancelling (Ctrl-C again to quit at once)…\n');
    process.once('SIGINT', () => process.exit(130));
    controller.abort();
  });
  options.signal = controller.signal;
  const reporter = progressReporter({ quiet: values.quiet ?? false, tty: process.stderr.isTTY === true });
  options.onProgress = reporter.update;
  const started = Date.now();
  try {
    const result = await runLocal(jobPath, options);
    reporter.stop();
    const seconds = (Date.now() - started) / 1000;
    if (result.steps)
      for (const step of result.steps.slice(0, -1))
        process.stdout.write(
          `Step ${step.manifest.step + 1}/${step.manifest.steps}: ${step.manifest.job}\n${summary(step.manifest, step.manifest.timings.seconds)}`,
        );
    if (result.steps)
      process.stdout.write(`Step ${result.manifest.steps}/${result.manifest.steps}: ${result.manifest.job}\n`);
    process.stdout.write(summary(result.manifest, result.steps ? result.manifest.timings.seconds : seconds));
    if (result.steps)
      process.stdout.write(`Job ${result.jobId} (${result.steps.length} steps) succeeded in ${seconds.toFixed(2)} s\n`);
    return 0;
  } catch (e) {
    reporter.stop();
    if (e instanceof JobCancelledError || interrupted) {
      process.stderr.write(`streaming: ${(e as Error).message}\n`);
      return 130;
    }
    if (e instanceof JobFailedError) {
      const details = e.markedFailed ? ` (details in ${e.output}/_FAILED)` : '';
      process.stderr.write(`streaming: job failed: ${e.errorType}: ${e.message}${details}\n`);
      if (values.verbose && e.causeStack) process.stderr.write(`${e.causeStack}\n`);
      return ['InvalidJobError', 'InputNotFoundError', 'OutputExistsError'].includes(e.errorType) ? 2 : 1;
    }
    throw e;
  }
}

function summary(m: import('../functions/phases/commit.js').JobManifest, seconds: number): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const lines = [
    `Job ${m.jobId} succeeded in ${seconds.toFixed(2)} s`,
    `  input   ${m.input.objects} objects, ${mb(m.input.bytes)}, ${m.input.records} records (${(m.input.bytes / 1e6 / seconds).toFixed(1)} MB/s)`,
    `  map     ${m.map.tasks} tasks, ${m.map.outputRecords} records emitted, ${m.map.shuffleRecords} shuffled (${mb(m.map.shuffleBytes)}), ${m.map.spills} spills`,
    `  reduce  ${m.reduce.tasks} tasks, ${m.reduce.groups} keys`,
    `  output  ${m.parts.length} parts, ${m.records} records, ${mb(m.bytes)} in ${m.output}`,
  ];
  // Worker threads share the process, so this is the peak of the engine and all its workers.
  lines.push(`  memory  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  const counters = Object.entries(m.counters);
  if (counters.length > 0) lines.push(`  counters ${counters.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return `${lines.join('\n')}\n`;
}

const ESTIMATE_USAGE = `Usage: streaming estimate --input-size <size> [options]

Estimates a cloud job's cost: S3 requests, Lambda GB-seconds, Step Functions transitions, dollars.

Options:
      --input-size <size>    bytes of input, e.g. 100GB (required)
      --split-size <size>    bytes per map task                         [default: 64MiB]
  -r, --reducers <n>         reduce partitions                          [default: 4]
      --memory <MiB>         memory of the map and reduce functions     [default: 1769]
      --objects <n>          input objects                              [default: one per split]
      --shuffle-ratio <x>    shuffled bytes per input byte              [default: 0.3]
      --json                 the estimate as JSON
`;

function estimate(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      'input-size': { type: 'string' },
      'split-size': { type: 'string' },
      reducers: { type: 'string', short: 'r' },
      memory: { type: 'string' },
      objects: { type: 'string' },
      'shuffle-ratio': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(ESTIMATE_USAGE);
    return 0;
  }
  const inputBytes = size('input-size', values['input-size']);
  if (inputBytes === undefined) throw new UsageError('give --input-size, e.g. --input-size 100GB');
  const ratio = values['shuffle-ratio'] === undefined ? undefined : Number(values['shuffle-ratio']);
  if (ratio !== undefined && !(ratio >= 0)) throw new UsageError('--shuffle-ratio must be a number >= 0');
  const options: EstimateOptions = { inputBytes };
  const splitSize = size('split-size', values['split-size']);
  if (splitSize !== undefined) options.splitSize = splitSize;
  const reducers = count('reducers', values.reducers, 0);
  if (reducers !== undefined) options.reducers = reducers;
  const memory = count('memory', values.memory, 128);
  if (memory !== undefined) options.memoryMiB = memory;
  const objects = count('objects', values.objects, 1);
  if (objects !== undefined) options.objects = objects;
  if (ratio !== undefined) options.shuffleRatio = ratio;
  const e = estimateCost(options);
  process.stdout.write(values.json ? `${JSON.stringify(e, null, 2)}\n` : `${formatEstimate(e, options)}\n`);
  return 0;
}

const REPORT_USAGE = `Usage: streaming report <output> [--out <file.html>]

Writes one self-contained HTML page from a completed job's _manifest.json: a timeline of every
task by phase (stragglers marked), records and bytes per task, phase totals.
  --out <file>   where to write it                       [default: ./<job id>.report.html]
`;

async function report(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(REPORT_USAGE);
    return 0;
  }
  const [output] = positionals;
  if (!output) throw new UsageError('give the output location of a completed job: streaming report <output>');
  const uri = normalizeUri(output);
  const storage = new StorageRouter();
  if (!(await storage.for(uri).stat(layout.manifest(uri))))
    throw new UsageError(`${output} holds no _manifest.json: give the output location of a completed job.`);
  const manifest = await storage.readJson<JobManifest>(layout.manifest(uri));
  const file = values.out ?? `${manifest.jobId}.report.html`;
  await fs.writeFile(file, renderReport(manifest));
  process.stdout.write(`${path.resolve(file)}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'run') return await run(rest);
    if (command === 'estimate') return estimate(rest);
    if (command === 'report') return await report(rest);
    if (command && CLOUD_COMMANDS.includes(command)) return await cloudCommand(command, rest);
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      process.stdout.write(`${USAGE}\n${CLOUD_USAGE}\n${ESTIMATE_USAGE}\n${REPORT_USAGE}`);
      return command === undefined ? 2 : 0;
    }
    throw new UsageError(`unknown command "${command}" (try: streaming run --help)`);
  } catch (e) {
    const cloud = cloudExitCode(e);
    if (cloud) {
      process.stderr.write(`streaming: ${cloud.message}\n`);
      return cloud.code;
    }
    if (e instanceof StreamingError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`streaming: ${(e as Error).message}\n`);
      return 2;
    }
    process.stderr.write(`streaming: unexpected error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

// `streaming cat … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
