/**
 * Stream programs (Hadoop Streaming): a shell command run once per task, fed records on stdin,
 * printing records on stdout, talking to the engine through stderr (`reporter:counter:…`,
 * `reporter:status:…`). Each runs in its own process group, so a cancel, a timeout or the end
 * of the engine ends it and everything it started; none is left re-parented.
 */
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { ProgramOutputError, StreamProgramError, TaskTimeoutError } from '../errors.js';

/** What a program reports besides its output. */
export interface ProgramReporter {
  /** `reporter:counter:<group>,<counter>,<amount>` */
  counter(group: string, name: string, amount: number): void;
  /** `reporter:status:<message>` */
  status(message: string): void;
  /** Any other stderr line (the task log). */
  log(line: string): void;
}

export interface ProgramOptions {
  command: string;
  /** Names the task in messages, e.g. "map task 3". */
  where: string;
  /** The working directory (the task directory). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Kill the program after this long without progress (input written, output or stderr read); 0: never. */
  timeoutMs: number;
  /** A non-zero exit fails the task (Hadoop's stream.non.zero.exit.is.failure). */
  nonZeroExitIsFailure: boolean;
  /** stderr lines starting with this are reporter lines. */
  reporterPrefix: string;
  reporter: ProgramReporter;
}

/** Bytes of a program's stderr kept for the message of its failure. */
const STDERR_TAIL = 4096;
/** Characters of input gathered before one write to a program's stdin. */
const PIPE_CHUNK = 64 * 1024;
/** How long a killed program's group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;

/**
 * The process groups of the programs running in this thread or process. The local engine's
 * workers tell the main thread (which kills them if the worker goes away); the main thread
 * kills what is left when the process exits.
 */
export const programGroups = {
  live: new Set<number>(),
  /** Told of each group started and ended. */
  listener: undefined as ((pid: number, running: boolean) => void) | undefined,
};

function tracked(pid: number, running: boolean): void {
  if (running) programGroups.live.add(pid);
  else programGroups.live.delete(pid);
  programGroups.listener?.(pid, running);
}

/** Sends `signal` to a whole process group; false when it is gone. */
export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a stream program: `feed` writes its input lines (awaiting when the pipe is full), each
 * line it prints goes to `onLine` (which may return a promise: the program is then paused by
 * the pipe, not buffered), stderr lines go to the reporter. A non-zero exit fails with the end
 * of its stderr; a program without progress for `timeoutMs` is killed with its group.
 */
export async function runStreamProgram(
  o: ProgramOptions,
  feed: (write: (line: string) => Promise<void> | undefined) => Promise<void>,
  onLine: (line: string) => Promise<void> | undefined,
): Promise<void> {
  const child = spawn('/bin/sh', ['-c', o.command], {
    cwd: o.cwd,
    env: o.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group: killing -pid reaches every process of a pipeline (`a | b`).
    detached: true,
  });
  const pid = child.pid;
  if (pid !== undefined) tracked(pid, true);
  let lastProgress = Date.now();
  /** While our side is busy with what the program printed, the program waits on us: not its fault. */
  let ourTurn = 0;
  const progress = () => {
    lastProgress = Date.now();
  };

  let stderrTail = '';
  const counterPrefix = `${o.reporterPrefix}counter:`;
  const statusPrefix = `${o.reporterPrefix}status:`;
  const stderrDone = (async () => {
    for await (const line of readline.createInterface({ input: child.stderr, crlfDelay: Number.POSITIVE_INFINITY })) {
      progress();
      if (line.startsWith(counterPrefix)) {
        // Hadoop's rule: three comma-separated columns, a whole amount; anything else is logged.
        const cols = line.slice(counterPrefix.length).trim().split(',');
        const amount = Number(cols[2]);
        if (cols.length === 3 && /^-?\d+$/.test(cols[2]!.trim()) && Number.isSafeInteger(amount))
          o.reporter.counter(cols[0]!, cols[1]!, amount);
        else o.reporter.log(`(cannot parse reporter line) ${line}`);
      } else if (line.startsWith(statusPrefix)) o.reporter.status(line.slice(statusPrefix.length).trim());
      else {
        stderrTail = `${stderrTail}${line}\n`.slice(-STDERR_TAIL);
        o.reporter.log(line);
      }
    }
  })();

  let killed: 'timeout' | 'failed' | undefined;
  let forceKill: NodeJS.Timeout | undefined;
  const kill = (why: 'timeout' | 'failed') => {
    if (killed || pid === undefined) return;
    killed = why;
    killGroup(pid, 'SIGTERM');
    forceKill = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
  };
  const watchdog =
    o.timeoutMs > 0
      ? setInterval(
          () => {
            if (ourTurn === 0 && Date.now() - lastProgress > o.timeoutMs) kill('timeout');
          },
          Math.min(1000, o.timeoutMs),
        )
      : undefined;

  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
  // A program may stop reading early (e.g. `head`): a broken pipe ends the feed, the exit code decides.
  const stdin = child.stdin;
  stdin.on('error', () => {});
  const gone = () => stdin.destroyed || stdin.writableEnded;
  // Lines are gathered into pieces of PIPE_CHUNK characters: one write (one system call) per piece, not per line.
  let pending: string[] = [];
  let pendingLength = 0;
  const flush = (): Promise<void> | undefined => {
    if (pendingLength === 0) return undefined;
    const piece = pending.join('');
    pending = [];
    pendingLength = 0;
    progress();
    // The program may have exited (and its stdin closed) before this piece: nothing to wait for.
    if (gone() || stdin.write(piece)) return undefined;
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
  const write = (line: string): Promise<void> | undefined => {
    pending.push(line, '\n');
    pendingLength += line.length + 1;
    return pendingLength >= PIPE_CHUNK ? flush() : undefined;
  };
  const feeding = (async () => {
    try {
      await feed(write);
      await flush();
    } finally {
      stdin.end();
    }
  })();
  const reading = (async () => {
    const decoder = new StringDecoder('utf8');
    let rest = '';
    const deliver = async (text: string, last: boolean) => {
      let i = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', i)) {
        const end = nl > i && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl; // CRLF is one line end
        const p = onLine(text.slice(i, end));
        i = nl + 1;
        if (p) {
          ourTurn++;
          try {
            await p;
          } finally {
            ourTurn--;
            progress();
          }
        }
      }
      rest = text.slice(i);
      if (last && rest !== '') {
        const p = onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
        if (p) await p;
      }
    };
    // The pipe is pulled a chunk at a time: while a line is being dealt with, the program waits.
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      progress();
      await deliver(rest + decoder.write(chunk), false);
    }
    await deliver(rest + decoder.end(), true);
  })();
  // Our side failing (bad output, storage) ends the program: nothing else would.
  feeding.catch(() => kill('failed'));
  reading.catch(() => kill('failed'));
  try {
    const code = await exited;
    // The shell is gone; what it left running in the background would hold the pipes open.
    if (pid !== undefined) killGroup(pid, 'SIGKILL');
    const [fed, read] = await Promise.allSettled([feeding, reading]);
    await stderrDone.catch(() => {});
    if (killed === 'timeout') throw new TaskTimeoutError(o.command, o.timeoutMs, o.where);
    if (read.status === 'rejected') throw read.reason;
    if (killed === 'failed' && fed.status === 'rejected') throw fed.reason;
    if (code !== 0 && o.nonZeroExitIsFailure) throw new StreamProgramError(o.command, code, stderrTail, o.where);
    if (fed.status === 'rejected') throw fed.reason;
  } finally {
    if (watchdog) clearInterval(watchdog);
    if (forceKill) clearTimeout(forceKill);
    if (pid !== undefined) {
      killGroup(pid, 'SIGKILL');
      tracked(pid, false);
    }
  }
}

/**
 * Hadoop Streaming's rule for a printed line: the key is its first `keyFields` fields (split on
 * `separator`), the value the rest; a line with fewer fields is all key, with an empty value.
 */
export function splitKeyValue(line: string, separator = '\t', keyFields = 1): [string, string] {
  let pos = line.indexOf(separator);
  for (let k = 1; k < keyFields && pos !== -1; k++) pos = line.indexOf(separator, pos + separator.length);
  return pos < 0 ? [line, ''] : [line.slice(0, pos), line.slice(pos + separator.length)];
}

/** A line of the `jsonl` protocol: `{"key": …, "value": …}`. */
export function parseJsonRecord(command: string, line: string): { key: unknown; value: unknown } {
  let r: unknown;
  try {
    r = JSON.parse(line);
  } catch (e) {
    throw new ProgramOutputError(
      command,
      line,
      `not JSON (${(e as Error).message}); the jsonl protocol reads one {"key": …, "value": …} object per line`,
    );
  }
  if (r === null || typeof r !== 'object' || Array.isArray(r) || !('key' in r))
    throw new ProgramOutputError(command, line, 'the jsonl protocol reads one {"key": …, "value": …} object per line');
  const { key, value } = r as { key: unknown; value?: unknown };
  return { key, value: value === undefined ? null : value };
}
