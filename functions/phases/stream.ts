/**
 * Stream programs (Hadoop Streaming): a shell command run once per task, fed records on stdin,
 * printing records on stdout, talking to the engine through stderr (`reporter:counter:…`,
 * `reporter:status:…`). Each runs in its own process group, so a cancel, a timeout or the end
 * of the engine ends it and everything it started; none is left re-parented.
 */
import { StringDecoder } from 'node:string_decoder';
import { childProcess, readline } from '../builtins.js';
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

/** What a program prints, taken as bytes: chunks of stdout as they come, then its end. */
export interface OutputBytes {
  chunk(buf: Buffer): Promise<void> | undefined | void;
  end(): Promise<void> | undefined | void;
}

/** Line by line: what a program prints, one line at a time (CRLF or LF, the last line with or without). */
export type OutputLines = (line: string) => Promise<void> | undefined;

/** Writes a line to the program's stdin (LF added); a promise when the pipe is full. */
export type WriteLine = (line: string) => Promise<void> | undefined;
/** Writes bytes to the program's stdin as they are (the buffer is the pipe's to keep). */
export type WriteBytes = (bytes: Buffer) => Promise<void> | undefined;

/**
 * Runs a stream program: `feed` writes its input (lines or bytes, awaiting when the pipe is
 * full), what it prints goes to `output` (a line at a time, or as bytes; a promise returned
 * pauses the program by the pipe, nothing is buffered meanwhile), stderr lines go to the
 * reporter. A non-zero exit fails with the end of its stderr; a program without progress for
 * `timeoutMs` is killed with its group.
 */
export async function runStreamProgram(
  o: ProgramOptions,
  feed: (write: WriteLine, writeBytes: WriteBytes) => Promise<void>,
  output: OutputLines | OutputBytes,
): Promise<void> {
  const child = childProcess().spawn('/bin/sh', ['-c', o.command], {
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
    for await (const line of readline().createInterface({ input: child.stderr, crlfDelay: Number.POSITIVE_INFINITY })) {
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
  const send = (piece: string | Buffer): Promise<void> | undefined => {
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
  const flush = (): Promise<void> | undefined => {
    if (pendingLength === 0) return undefined;
    const piece = pending.join('');
    pending = [];
    pendingLength = 0;
    return send(piece);
  };
  const write = (line: string): Promise<void> | undefined => {
    pending.push(line, '\n');
    pendingLength += line.length + 1;
    return pendingLength >= PIPE_CHUNK ? flush() : undefined;
  };
  const writeBytes = (bytes: Buffer): Promise<void> | undefined => {
    const before = flush();
    return before ? before.then(() => send(bytes)) : send(bytes);
  };
  const feeding = (async () => {
    try {
      await feed(write, writeBytes);
      await flush();
    } finally {
      stdin.end();
    }
  })();
  const sink = typeof output === 'function' ? linesOf(output) : output;
  // 'data' events, not an async iterator: a program that writes each line on its own (Python
  // under PYTHONUNBUFFERED) hands over one small chunk per line, and each costs little this way.
  // Chunks go to the sink one at a time, in order: while it deals with one (a promise), the
  // others wait in `queue` and the program waits on the pipe; the end comes after the last.
  const reading = new Promise<void>((resolve, reject) => {
    const stdout = child.stdout;
    const queue: Buffer[] = [];
    let busy = false;
    let paused = false;
    let ended = false;
    let settled = false;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      queue.length = 0;
      stdout.off('data', onData);
      stdout.resume(); // drain what is left, so the program is not stuck on a full pipe
      reject(e);
    };
    const pump = (): void => {
      while (queue.length > 0) {
        const chunk = queue.shift()!;
        let p: Promise<void> | undefined | void;
        try {
          p = sink.chunk(chunk);
        } catch (e) {
          fail(e);
          return;
        }
        if (p) {
          // While our side deals with what the program printed, the program waits on us: not its fault.
          busy = true;
          ourTurn++;
          if (!paused) {
            paused = true;
            stdout.pause();
          }
          p.then(
            () => {
              busy = false;
              ourTurn--;
              progress();
              pump();
            },
            (e) => {
              ourTurn--;
              fail(e);
            },
          );
          return;
        }
      }
      if (ended) {
        if (settled) return;
        settled = true;
        Promise.resolve()
          .then(() => sink.end())
          .then(() => resolve(), reject);
      } else if (paused) {
        paused = false;
        stdout.resume();
      }
    };
    const onData = (chunk: Buffer) => {
      progress();
      queue.push(chunk);
      if (!busy) pump();
    };
    stdout.on('data', onData);
    stdout.once('error', fail);
    stdout.once('close', () => {
      if (!ended) fail(new Error(`The output of \`${o.command}\` (${o.where}) was cut off before its end`));
    });
    stdout.once('end', () => {
      ended = true;
      if (!busy) pump();
    });
  });
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

/** Turns chunks of a program's output into its lines, decoded as UTF-8 (bad bytes as U+FFFD). */
function linesOf(onLine: OutputLines): OutputBytes {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  const deliver = (text: string, from: number): Promise<void> | undefined => {
    let i = from;
    for (let nl = text.indexOf('\n', i); nl >= 0; nl = text.indexOf('\n', i)) {
      const end = nl > i && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl; // CRLF is one line end
      const p = onLine(text.slice(i, end));
      i = nl + 1;
      if (p) return p.then(() => deliver(text, i));
    }
    rest = text.slice(i);
    return undefined;
  };
  return {
    chunk: (buf) => deliver(rest + decoder.write(buf), 0),
    end: async () => {
      const text = rest + decoder.end();
      const p = deliver(text, 0);
      if (p) await p;
      if (rest !== '') {
        const last = onLine(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
        rest = '';
        if (last) await last;
      }
    },
  };
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
