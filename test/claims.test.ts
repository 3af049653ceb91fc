/**
 * An output belongs to one run (functions/phases/claim.ts): the two CLI runs on one
 * output, runs started together, dead and live claims, and a run that loses its claim.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { DEFAULTS } from '../functions/config.js';
import type { Claim } from '../functions/phases/claim.js';
import { runLocal } from '../sdk/index.js';
import { countsOf, expectedWordCounts, FIXTURES, MOBY, outputLines, ROOT, sortedEntries, tempDir } from './helpers.js';

const CLI = path.join(ROOT, 'dist', 'sdk', 'cli.js');
const WORDCOUNT = path.join(ROOT, 'jobs', 'wordcount.ts');
const BOOK = path.join(MOBY, 'data.txt');

/** A text file of `copies` Moby-Dicks (1.2 MB each). */
function book(dir: string, name: string, copies: number): string {
  const file = path.join(dir, name);
  const text = fs.readFileSync(BOOK);
  fs.writeFileSync(file, Buffer.concat(Array.from({ length: copies }, () => text)));
  return file;
}

/** Word counts of `copies` Moby-Dicks, computed without the engine. */
function expectedCounts(copies: number): [string, number][] {
  return sortedEntries(expectedWordCounts([BOOK])).map(([w, n]) => [w, n * copies]);
}

function run(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, [CLI, 'run', WORDCOUNT, '--quiet', ...args], { cwd: ROOT });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  return { child, done: new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr }))) };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

const claimOf = (out: string) => JSON.parse(fs.readFileSync(path.join(out, '_CLAIM'), 'utf8')) as Claim;
const manifestOf = (out: string) => JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8'));

describe('an output belongs to one run (local engine)', () => {
  it('the issue’s two CLI runs (30 MB, then 3 MB, one --output): the second fails at once naming the first; the output is the first’s', async () => {
    const dir = tempDir();
    const big = book(dir, 'big.txt', 25); // 30 MB
    const small = book(dir, 'small.txt', 2); // 2.5 MB
    const out = path.join(dir, 'out');
    const first = run(['--input', big, '--output', out, '-w', '1']);
    // "A moment later": once the first run owns the output.
    await until(() => fs.existsSync(path.join(out, '_CLAIM')), 'the first run to claim its output');
    const holder = claimOf(out);
    expect(holder.holder).toEqual({ host: os.hostname(), pid: first.child.pid });
    const seconds = await Promise.all(
      [[], ['--overwrite']].map((extra) => run(['--input', small, '--output', out, '-w', '1', ...extra]).done),
    );
    expect(first.child.exitCode).toBeNull(); // the first was running all along
    for (const second of seconds) {
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(
        new RegExp(
          `OutputClaimedError: Output .*out is being written by run ${holder.jobId} \\(process ${first.child.pid} on .*\\)\\. Wait for it to finish, or cancel it .*kill ${first.child.pid}`,
        ),
      );
      expect(second.stderr).toMatch(/--overwrite replaces a completed output, never one a run is writing/);
    }
    expect(await first.done).toMatchObject({ code: 0 });
    expect(sortedEntries(countsOf(outputLines(out)))).toEqual(expectedCounts(25));
    expect(manifestOf(out)).toMatchObject({ jobId: holder.jobId, input: { bytes: fs.statSync(big).size } });
    expect(
      fs
        .readdirSync(out)
        .filter((f) => f.startsWith('_'))
        .sort(),
    ).toEqual(['_SUCCESS', '_manifest.json']);
  }, 120_000);

  it('two runs started together on one output, with different inputs: exactly one succeeds, and the output is its result', async () => {
    const dir = tempDir();
    const inputs = { a: book(dir, 'a.txt', 3), b: book(dir, 'b.txt', 1) };
    const out = path.join(dir, 'out');
    const runs = [
      run(['--input', inputs.a, '--output', out, '-w', '1']),
      run(['--input', inputs.b, '--output', out, '-w', '1']),
    ];
    const ends = await Promise.all(runs.map((r) => r.done));
    expect(ends.map((e) => e.code).sort()).toEqual([0, 1]);
    const winner = ends.findIndex((e) => e.code === 0);
    expect(ends[1 - winner]!.stderr).toMatch(/OutputClaimedError: Output .* is being written by run wordcount-/);
    const copies = winner === 0 ? 3 : 1;
    expect(sortedEntries(countsOf(outputLines(out)))).toEqual(expectedCounts(copies));
    expect(manifestOf(out).input.bytes).toBe(fs.statSync(winner === 0 ? inputs.a : inputs.b).size);
    expect(fs.existsSync(path.join(out, '_CLAIM'))).toBe(false);
  }, 120_000);

  const claim = (fields: Partial<Claim>): Claim => ({
    jobId: 'other-run',
    claimed: new Date().toISOString(),
    renewed: new Date().toISOString(),
    leaseSeconds: DEFAULTS.claimLeaseSeconds,
    holder: { host: os.hostname(), pid: process.pid },
    ...fields,
  });
  const withClaim = (c: Claim) => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'a b a\n');
    fs.mkdirSync(path.join(dir, 'out'));
    fs.writeFileSync(path.join(dir, 'out', '_CLAIM'), JSON.stringify(c));
    return { input: path.join(dir, 'in.txt'), output: path.join(dir, 'out'), workers: 1 };
  };

  it('a live run’s claim refuses another run, --overwrite included, and leaves the output as it was', async () => {
    for (const overwrite of [false, true]) {
      const opts = withClaim(claim({}));
      await expect(runLocal(WORDCOUNT, { ...opts, overwrite })).rejects.toMatchObject({
        errorType: 'OutputClaimedError',
        message: expect.stringMatching(/being written by run other-run \(process \d+ on /),
      });
      expect(fs.readdirSync(opts.output)).toEqual(['_CLAIM']);
      expect(claimOf(opts.output).jobId).toBe('other-run');
    }
    // A cloud run's claim (a lease) renewed a minute ago is live too, and names its execution.
    const execution = 'arn:aws:states:us-east-1:123456789012:execution:WordCount:run-1';
    const leased = claim({
      holder: { lambda: 'Plan' },
      execution,
      renewed: new Date(Date.now() - 60_000).toISOString(),
    });
    await expect(runLocal(WORDCOUNT, withClaim(leased))).rejects.toMatchObject({
      errorType: 'OutputClaimedError',
      message: expect.stringContaining(`streaming cancel ${execution}`),
    });
  });

  it('a claim left by a dead run is taken over: its process has exited, or its lease lapsed', async () => {
    const exited = spawnSync(process.execPath, ['-e', '0']).pid!;
    const lapsed = new Date(Date.now() - (DEFAULTS.claimLeaseSeconds + 60) * 1000).toISOString();
    for (const dead of [
      claim({ holder: { host: os.hostname(), pid: exited } }),
      claim({ holder: { lambda: 'Map' }, renewed: lapsed }),
    ]) {
      const opts = withClaim(dead);
      const { manifest } = await runLocal(WORDCOUNT, opts);
      expect(sortedEntries(countsOf(outputLines(opts.output)))).toEqual([
        ['a', 2],
        ['b', 1],
      ]);
      expect(manifest.jobId).not.toBe('other-run');
      expect(fs.existsSync(path.join(opts.output, '_CLAIM'))).toBe(false); // released by Commit
    }
  });

  it('a run that loses its claim mid-run publishes nothing and leaves the new holder’s output alone', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n'));
    const out = path.join(dir, 'out');
    const job = runLocal(path.join(FIXTURES, 'slow.ts'), {
      input: path.join(dir, 'in.txt'),
      output: out,
      splitSize: 40,
      workers: 1,
      params: { ms: '30' },
    });
    await until(() => fs.existsSync(path.join(out, '_CLAIM')), 'the run to claim its output');
    // Another run takes the output over (as if this one's claim had lapsed).
    const taker = claim({ jobId: 'taker', holder: { lambda: 'Plan' } });
    fs.writeFileSync(path.join(out, '_CLAIM'), JSON.stringify(taker));
    await expect(job).rejects.toMatchObject({
      errorType: 'ClaimLostError',
      message: expect.stringMatching(/taker holds it now/),
    });
    expect(fs.readdirSync(out)).toEqual(['_CLAIM']);
    expect(claimOf(out)).toEqual(taker);
  });
});
