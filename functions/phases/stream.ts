import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { StreamProgramError } from '../errors.js';

const STDERR_TAIL = 4096;

/**
 * Runs a stream program (Hadoop Streaming): `feed` writes its input lines to the program's
 * stdin (awaiting when the pipe is full), and each line the program prints goes to `onLine`
 * (which may return a promise: the program is then paused by the pipe, not buffered). A
 * non-zero exit fails with the end of its stderr.
 */
export async function runStreamProgram(
  command: string,
  feed: (write: (line: string) => Promise<void> | undefined) => Promise<void>,
  onLine: (line: string) => Promise<void> | undefined,
): Promise<void> {
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], env: process.env });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_TAIL);
  });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  // A program may stop reading early (e.g. `head`): a broken pipe ends the feed, the exit code decides.
  const stdin = child.stdin;
  stdin.on('error', () => {});
  const gone = () => stdin.destroyed || stdin.writableEnded;
  const write = (line: string): Promise<void> | undefined => {
    // The program may have exited (and its stdin closed) before this record: nothing to wait for.
    if (gone() || stdin.write(`${line}\n`)) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.on('drain', done);
      stdin.on('close', done);
      if (gone()) done();
    });
  };
  const feeding = (async () => {
    try {
      await feed(write);
    } finally {
      stdin.end();
    }
  })();
  const reading = (async () => {
    for await (const line of readline.createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY })) {
      const p = onLine(line);
      if (p) await p;
    }
  })();
  const [fed, read] = await Promise.allSettled([feeding, reading]);
  const code = await exited;
  if (code !== 0) throw new StreamProgramError(command, code, stderr);
  if (fed.status === 'rejected') throw fed.reason;
  if (read.status === 'rejected') throw read.reason;
}

/** Hadoop Streaming's rule: the text before the first tab is the key, the rest the value; no tab: all key. */
export function splitKeyValue(line: string): [string, string] {
  const tab = line.indexOf('\t');
  return tab < 0 ? [line, ''] : [line.slice(0, tab), line.slice(tab + 1)];
}
