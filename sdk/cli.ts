#!/usr/bin/env node
/**
 * `streaming` command line: one module per command under cli/, their options from one table
 * (cli/options.ts). Exit codes: 0 done, 1 the job failed, 2 bad usage or options, 130
 * cancelled (Ctrl-C).
 */
import { StreamingError } from '../functions/errors.js';
import { didYouMean } from '../functions/suggest.js';
import { cancelCommand } from './cli/cancel.js';
import { catCommand } from './cli/cat.js';
import { cloudExitCode } from './cli/cloud.js';
import { type Command, usage } from './cli/command.js';
import { estimateCommand } from './cli/estimate.js';
import { lsCommand } from './cli/ls.js';
import { UsageError } from './cli/options.js';
import { reportCommand } from './cli/report.js';
import { runCommand } from './cli/run.js';
import { startCommand } from './cli/start.js';
import { statusCommand } from './cli/status.js';
import { waitCommand } from './cli/wait.js';

const COMMANDS: readonly Command[] = [
  runCommand,
  startCommand,
  statusCommand,
  waitCommand,
  cancelCommand,
  catCommand,
  lsCommand,
  estimateCommand,
  reportCommand,
];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const list = COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.description.split('\n')[0]}`).join('\n');
  return `Usage: streaming <command> [options]   (streaming <command> --help for its options)\n\nCommands:\n${list}\n\n${COMMANDS.map(usage).join('\n')}`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(overview());
      return name === undefined ? 2 : 0;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command)
      throw new UsageError(
        `unknown command "${name}"${didYouMean(
          name,
          COMMANDS.map((c) => c.name),
        )} (try: streaming --help)`,
      );
    return await command.run(rest);
  } catch (e) {
    const cloud = cloudExitCode(e);
    if (cloud) {
      process.stderr.write(`streaming: ${cloud.message}\n`);
      return cloud.code;
    }
    if (e instanceof StreamingError) {
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
