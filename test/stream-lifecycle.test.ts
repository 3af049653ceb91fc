/**
 * Stream programs' lifecycle and the errors a Hadoop Streaming or mrjob user meets: Ctrl-C and
 * cancel end every program's whole process group; a program without progress is killed at the
 * task timeout; inputs Streaming cannot read are refused by their first bytes; a record no
 * string can hold names its file and offset; unknown job keys say what was meant; a pipeline
 * step keeps its own reducers.
 */

import { constants } from 'node:buffer';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { runLocal } from '../sdk/index.js';
import { describeWithPython3, outputLines, ROOT, tempDir } from './helpers.js';

const CLI = path.join(ROOT, 'dist', 'sdk', 'cli.js');

function writeJob(dir: string, name: string, source: string): string {
  const file = path.join(dir, `${name}.ts`);
  fs.writeFileSync(file, `import { defineJob, definePipeline } from 'streaming';\n${source}\n`);
  return file;
}

/** The processes of a process group still running (zombies, dead and waiting to be reaped, aside), from /proc. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp …: comm may hold spaces, so fields are counted after its ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(pid));
  }
  return members;
}

/** Waits for a process group to be gone, and says whether it went (killing takes a moment). */
async function groupGone(pgid: number): Promise<boolean> {
  try {
    await until(() => groupMembers(pgid).length === 0, 5000);
    return true;
  } catch {
    return false;
  }
}

/** A mapper that records its process group, starts a child of its own, says so, and sleeps. */
function sleeperJob(dir: string): string {
  fs.writeFileSync(
    path.join(dir, 'sleeper.py'),
    [
      'import os, subprocess, sys, time',
      'open(os.environ["PGID_FILE"], "w").write(str(os.getpgrp()))',
      'subprocess.Popen(["sleep", "300"])  # a grandchild of the task, in the same group',
      'sys.stderr.write("reporter:status:sleeping\\n")',
      'sys.stderr.flush()',
      'time.sleep(300)',
    ].join('\n'),
  );
  fs.writeFileSync(path.join(dir, 'in.txt'), 'x\n');
  return writeJob(
    dir,
    'sleeper',
    `export default defineJob({ name: 'sleeper', mapper: 'python3 sleeper.py', reducers: 0 });`,
  );
}

async function until(check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeWithPython3('lifecycle', () => {
  it('Ctrl-C ends every program of the run with its whole process group: none is left re-parented', async () => {
    const dir = tempDir();
    const job = sleeperJob(dir);
    const pgidFile = path.join(dir, 'pgid');
    const child = spawn(
      process.execPath,
      [
        CLI,
        'run',
        job,
        '-i',
        path.join(dir, 'in.txt'),
        '-o',
        path.join(dir, 'out'),
        '--cmdenv',
        `PGID_FILE=${pgidFile}`,
      ],
      { cwd: ROOT },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await until(() => fs.existsSync(pgidFile) && fs.readFileSync(pgidFile, 'utf8') !== '' && /sleeping/.test(stderr));
    const pgid = Number(fs.readFileSync(pgidFile, 'utf8'));
    // The program and the child it started.
    expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(2);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(await groupGone(pgid)).toBe(true);
  });

  it('cancel() ends the programs’ process groups too', async () => {
    const dir = tempDir();
    const job = sleeperJob(dir);
    const pgidFile = path.join(dir, 'pgid');
    let sleeping = false;
    const handle = runLocal(job, {
      input: path.join(dir, 'in.txt'),
      output: path.join(dir, 'out'),
      workers: 1,
      cmdenv: { PGID_FILE: pgidFile },
      onProgress: (p) => {
        if (p.status?.message === 'sleeping') sleeping = true;
      },
    });
    await until(() => sleeping);
    const pgid = Number(fs.readFileSync(pgidFile, 'utf8'));
    expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(2);
    await handle.cancel();
    await expect(handle).rejects.toMatchObject({ name: 'JobCancelledError' });
    expect(await groupGone(pgid)).toBe(true);
  });

  it('kills a program that makes no progress for mapreduce.task.timeout, and says so', async () => {
    const dir = tempDir();
    const job = sleeperJob(dir);
    const pgidFile = path.join(dir, 'pgid');
    await expect(
      runLocal(job, {
        input: path.join(dir, 'in.txt'),
        output: path.join(dir, 'out'),
        workers: 1,
        taskAttempts: 1,
        cmdenv: { PGID_FILE: pgidFile },
        jobconf: { 'mapreduce.task.timeout': '2000' },
      }),
    ).rejects.toMatchObject({
      errorType: 'TaskTimeoutError',
      message: expect.stringMatching(
        /^Stream program `python3 sleeper\.py` \(map task 0\) was killed after 2 s without progress \(mapreduce\.task\.timeout=2000\)/,
      ),
    });
    expect(await groupGone(Number(fs.readFileSync(pgidFile, 'utf8')))).toBe(true);
  });
});

describe('inputs that cannot be read', () => {
  const job = (dir: string) =>
    writeJob(
      dir,
      'lines',
      `export default defineJob({ name: 'lines', map(l: string, emit) { emit(l, 1); }, reducers: 0 });`,
    );

  it.each([
    ['bzip2', Buffer.from('BZh91AY&SY\x00\x01\x02', 'latin1')],
    ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04])],
    ['zstd', Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00, 0x01])],
  ])('refuses %s by its first bytes, whatever the file is called', async (codec, head) => {
    const dir = tempDir();
    const file = path.join(dir, 'logs.txt');
    fs.writeFileSync(file, Buffer.concat([head, Buffer.from('\nmore bytes\n')]));
    await expect(runLocal(job(dir), { input: file, output: path.join(dir, 'out'), workers: 1 })).rejects.toMatchObject({
      errorType: 'UnsupportedCompressionError',
      message: expect.stringMatching(
        new RegExp(
          `^Input file://${file} is ${codec}-compressed \\(its first bytes are [0-9a-f ]+.*\\); Streaming reads plain text, and gzip from objects named \\.gz\\.`,
        ),
      ),
    });
    expect(fs.readdirSync(path.join(dir, 'out'))).toEqual(['_FAILED']);
  });

  it('refuses an object too large to read at once (read as a stream) by its first bytes', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'big.log');
    // Past lines.ts's WHOLE_NOW_BYTES (4 MiB): its head is checked as the first block passes.
    fs.writeFileSync(file, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(5 << 20, 'x\n')]));
    await expect(runLocal(job(dir), { input: file, output: path.join(dir, 'out'), workers: 1 })).rejects.toMatchObject({
      errorType: 'UnsupportedCompressionError',
      message: expect.stringMatching(/big\.log is zstd-compressed \(its first bytes are 28 b5 2f fd/),
    });
  });

  it('says to rename gzip data that is not named .gz', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'data.log');
    fs.writeFileSync(file, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00]));
    await expect(runLocal(job(dir), { input: file, output: path.join(dir, 'out'), workers: 1 })).rejects.toMatchObject({
      message: expect.stringMatching(/is gzip-compressed .* Name it with the \.gz extension/),
    });
  });

  it('names the file and byte offset of a record longer than a string can hold', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'huge.txt');
    // A short first line, then one line of NUL bytes longer than a string holds (a sparse file: no disk).
    fs.writeFileSync(file, 'first line\n');
    fs.truncateSync(file, 11 + constants.MAX_STRING_LENGTH + 10);
    await expect(
      runLocal(job(dir), { input: file, output: path.join(dir, 'out'), workers: 1, taskAttempts: 1 }),
    ).rejects.toMatchObject({
      errorType: 'RecordTooLargeError',
      message: expect.stringMatching(
        new RegExp(
          `^The record starting at byte 11 of file://${file} is longer than ${constants.MAX_STRING_LENGTH} bytes`,
        ),
      ),
    });
  });
});

describe('job definitions', () => {
  it('an unknown key is an InvalidJobError saying what was meant, at run time (no tsc involved)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'typo.js');
    fs.writeFileSync(
      file,
      "import { defineJob } from 'streaming';\nexport default defineJob({ name: 'typo', mapper: 'cat', combinner: 'cat', reducer: 'cat', outptu: {} });\n",
    );
    await expect(runLocal(file, { input: file, output: path.join(dir, 'out') })).rejects.toMatchObject({
      name: 'InvalidJobError',
      message: expect.stringMatching(
        /unknown key combinner \(did you mean combiner\?\); unknown key outptu \(did you mean output\?\)/,
      ),
    });
  });

  it('a pipeline step keeps its own reducers, the caller’s apply to the others, and the run says so once', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'b a\nc a\n');
    const job = writeJob(
      dir,
      'two-steps',
      `const count = defineJob({ name: 'count', mapper: "tr ' ' '\\\\n'", reducer: 'uniq -c' });
       const total = defineJob({ name: 'total', mapper: 'cat', reducer: 'wc -l', reducers: 1 });
       export default definePipeline({ name: 'two-steps', steps: [count, total] });`,
    );
    const warnings: string[] = [];
    const r = await runLocal(job, {
      input: path.join(dir, 'in.txt'),
      output: path.join(dir, 'out'),
      reducers: 3,
      workers: 1,
      onWarning: (w) => warnings.push(w),
    });
    expect(r.steps!.map((s) => s.manifest.reduce.tasks)).toEqual([3, 1]);
    expect(warnings).toEqual([
      'step 2 (total) keeps its own reducers (1); the 3 asked for apply to steps that set none',
    ]);
    expect(outputLines(path.join(dir, 'out')).map((l) => l.trim())).toEqual(['3']);
  });
});
