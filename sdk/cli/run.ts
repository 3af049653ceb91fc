/**
 * `streaming run <job.ts>`: runs a job on this machine with the local engine, progress on
 * stderr and a summary on stdout.
 */
import path from 'node:path';
import { JobCancelledError, JobFailedError } from '../../functions/errors.js';
import type { JobManifest } from '../../functions/phases/commit.js';
import { type LocalRunOptions, runLocal } from '../local/engine.js';
import { progressReporter } from '../progress.js';
import { describeIdle, idleByWorker } from '../report.js';
import { type Command, parseCommand } from './command.js';
import { UsageError } from './options.js';

export const runCommand: Command = {
  name: 'run',
  synopsis: '<job.ts> --input <path>... --output <dir> [options]',
  description: 'Runs a job on this machine (worker threads, local files).',
  options: [
    'input',
    'output',
    'reducers',
    'split-size',
    'sort-buffer',
    'workers',
    'worker-memory',
    'param',
    'jobconf',
    'cmdenv',
    'files',
    'overwrite',
    'step',
    'strict-utf8',
    'scratch',
    'keep-scratch',
    'attempts',
    'quiet',
    'verbose',
    'help',
  ],
  async run(argv) {
    const parsed = parseCommand(this, argv);
    if (!parsed) return 0;
    const { values, positionals } = parsed;
    const [jobPath, ...rest] = positionals;
    if (!jobPath) throw new UsageError('give the job module: streaming run <job.ts> --input <path> --output <dir>');
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}" (inputs go after --input)`);
    if (!values.input?.length) throw new UsageError('give at least one --input <path>');
    if (!values.output) throw new UsageError('give --output <dir>');
    const options: LocalRunOptions = { input: values.input, output: values.output, params: values.param ?? {} };
    const set = <K extends keyof LocalRunOptions>(k: K, v: LocalRunOptions[K] | undefined) => {
      if (v !== undefined) options[k] = v;
    };
    set('reducers', values.reducers);
    set('splitSize', values['split-size']);
    set('sortBufferBytes', values['sort-buffer']);
    set('workers', values.workers);
    set('workerHeapMiB', values['worker-memory']);
    set('taskAttempts', values.attempts);
    set('overwrite', values.overwrite);
    set('step', values.step);
    set('strictUtf8', values['strict-utf8']);
    set('scratch', values.scratch);
    set('keepScratch', values['keep-scratch']);
    set('jobconf', values.jobconf);
    set('cmdenv', values.cmdenv);
    set('files', values.files);
    return runWithProgress(jobPath, options, values);
  },
};

async function runWithProgress(
  jobPath: string,
  options: LocalRunOptions,
  flags: { quiet?: boolean; verbose?: boolean },
): Promise<number> {
  const controller = new AbortController();
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    process.stderr.write('\nstreaming: cancelling (Ctrl-C again to quit at once)…\n');
    process.once('SIGINT', () => process.exit(130));
    controller.abort();
  });
  options.signal = controller.signal;
  const reporter = progressReporter({ quiet: flags.quiet ?? false, tty: process.stderr.isTTY === true });
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
      if (flags.verbose && e.causeStack) process.stderr.write(`${e.causeStack}\n`);
      return ['InvalidJobError', 'InputNotFoundError', 'OutputExistsError'].includes(e.errorType) ? 2 : 1;
    }
    throw e;
  }
}

/** The summary `streaming run` prints for a job (or each step of a multi-step one). */
export function summary(m: JobManifest, seconds: number): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  const lines = [
    `Job ${m.jobId} succeeded in ${seconds.toFixed(2)} s`,
    `  input   ${m.input.objects} objects, ${mb(m.input.bytes)}, ${m.input.records} records (${(m.input.bytes / 1e6 / seconds).toFixed(1)} MB/s)`,
    `  map     ${m.map.tasks} tasks, ${m.map.outputRecords} records emitted, ${m.map.shuffleRecords} shuffled (${mb(m.map.shuffleBytes)}), ${m.map.spills} spills`,
    `  reduce  ${m.reduce.tasks} tasks, ${m.reduce.groups} keys`,
    `  output  ${m.parts.length} parts, ${m.records} records, ${mb(m.bytes)} in ${m.output}`,
  ];
  // Balance: how long each worker waited while others still ran tasks of the phase.
  const idle = idleByWorker(m);
  if (idle)
    lines.push(`  workers map ${describeIdle(idle.map)}${idle.reduce ? `; reduce ${describeIdle(idle.reduce)}` : ''}`);
  // Worker threads share the process, so this is the peak of the engine and all its workers.
  lines.push(`  memory  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
  const list = (c: Record<string, number>) =>
    Object.entries(c)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
  // The job's own counters (ctx.count), then each group (reporter:counter lines, ctx.incrementCounter).
  if (Object.keys(m.counters).length > 0) lines.push(`  counters ${list(m.counters)}`);
  for (const [group, counters] of Object.entries(m.counterGroups ?? {}))
    lines.push(`  counters ${group}: ${list(counters)}`);
  const logged = m.tasks.filter((t) => t.log !== undefined);
  if (logged.length > 0)
    lines.push(
      `  logs    ${path.dirname(logged[0]!.log!)} (stderr of the stream programs: ${logged.length} task${logged.length === 1 ? '' : 's'} wrote some)`,
    );
  return `${lines.join('\n')}\n`;
}
