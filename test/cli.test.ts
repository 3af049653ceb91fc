import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { FIXTURES, MOBY, ROOT, tempDir } from './helpers.js';

/** The built CLI (npm test builds first), run as a user runs it: a separate process, no TTY. */
const CLI = path.join(ROOT, 'dist', 'sdk', 'cli.js');
const streaming = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });

describe('the built CLI', () => {
  it('is one bundled module (scripts/bundle-cli.mjs), its only own imports the chunks beside it', () => {
    const code = fs.readFileSync(CLI, 'utf8');
    const relative = [...code.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1]!);
    expect(relative.length).toBeGreaterThan(0); // the chunk of the S3 storage, at least
    expect(relative.filter((r) => !/^\.\/cli-[\w-]+\.js$/.test(r))).toEqual([]);
    for (const r of relative) expect(fs.existsSync(path.join(path.dirname(CLI), r))).toBe(true);
    // What it finds beside the engine's modules, from dist/sdk rather than dist/sdk/local.
    const help = streaming('--help');
    expect(help.status).toBe(0);
  });

  it('draws progress bars on a terminal, loading cli-progress from beside the bundle only then', () => {
    const out = path.join(tempDir(), 'out');
    // stderr taken for a terminal: the CLI picks its bar reporter, and cli-progress draws.
    const asTerminal = `data:text/javascript,Object.defineProperty(process.stderr,'isTTY',{value:true})`;
    const args = ['--import', asTerminal, CLI, 'run', 'jobs/wordcount.ts', '--input', path.join(MOBY, 'chapter_1.txt')];
    const run = spawnSync(process.execPath, [...args, '--output', out, '--workers', '1'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/map\s+\[[█░]+\] 1\/1 tasks/);
  });
});

describe('streaming run', () => {
  it('Ctrl-C (SIGINT) cancels: exit 130, _FAILED says cancelled, scratch removed, and a second run succeeds', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), Array.from({ length: 300 }, (_, i) => `line ${i}`).join('\n'));
    const out = path.join(dir, 'out');
    const scratch = path.join(dir, 'scratch');
    const args = ['run', path.join(FIXTURES, 'slow.ts'), '--input', path.join(dir, 'in.txt'), '--output', out];
    const child = spawn(process.execPath, [CLI, ...args, '--scratch', scratch, '--split-size', '200', '-w', '2'], {
      cwd: ROOT,
    });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      // Interrupt once the first map task is done: the job is well under way.
      if (/map [1-9]\d*\//.test(stderr) && !child.killed) child.kill('SIGINT');
    });
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/cancelling/);
    expect(fs.readdirSync(out)).toEqual(['_FAILED']);
    expect(JSON.parse(fs.readFileSync(path.join(out, '_FAILED'), 'utf8')).error).toBe('JobCancelledError');
    expect(fs.readdirSync(scratch, { recursive: true })).toEqual([]);
    const again = streaming(...args, '--scratch', scratch, '--param', 'ms=0', '--quiet');
    expect(again.status).toBe(0);
    expect(fs.existsSync(path.join(out, '_SUCCESS'))).toBe(true);
  });

  it('runs a TypeScript job with no build step, prints progress lines and a summary, exits 0', () => {
    const out = path.join(tempDir(), 'out');
    const r = streaming(
      'run',
      'jobs/wordcount.ts',
      '--input',
      path.join(MOBY, 'data.txt'),
      '--output',
      out,
      '--split-size',
      '256KiB',
      '-w',
      '2',
      '-r',
      '2',
    );
    expect(r.stderr).toMatch(/map \d+\/\d+ \(\d+ running\)/);
    expect(r.stdout).toMatch(/^Job wordcount-\S+ succeeded in [\d.]+ s$/m);
    expect(r.stdout).toMatch(/input {3}1 objects, 1\.2 MB, \d+ records \([\d.]+ MB\/s\)/);
    expect(r.stdout).toMatch(/output {2}2 parts, \d+ records/);
    expect(r.stdout).toMatch(/peak RSS \d+ MiB/);
    expect(r.status).toBe(0);
    expect(fs.existsSync(path.join(out, '_SUCCESS'))).toBe(true);
  });

  it('exits 2 with one actionable line for a missing input', () => {
    const dir = tempDir();
    const r = streaming(
      'run',
      'jobs/wordcount.ts',
      '--input',
      path.join(dir, 'nope'),
      '--output',
      path.join(dir, 'o'),
      '--quiet',
    );
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^streaming: job failed: InputNotFoundError: Input not found: .*nope\. Check the path/),
    ]);
  });

  it('exits 1 with the user’s error when the job fails, and 2 for bad usage', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'in.txt'), 'boom\n');
    const failed = streaming(
      'run',
      path.join(FIXTURES, 'throws.ts'),
      '-i',
      path.join(dir, 'in.txt'),
      '-o',
      path.join(dir, 'o'),
      '--quiet',
      '--attempts',
      '1',
    );
    expect(failed.status).toBe(1);
    expect(failed.stderr).toMatch(
      /^streaming: job failed: UserCodeError: map task 0: user map failed on purpose: boom \(details in .*_FAILED\)\n$/,
    );

    expect(streaming('run', 'jobs/wordcount.ts', '--output', 'x').stderr).toMatch(/give at least one --input/);
    const badSize = streaming('run', 'jobs/wordcount.ts', '-i', 'x', '-o', 'y', '--split-size', 'huge');
    expect(badSize.status).toBe(2);
    expect(badSize.stderr).toMatch(/--split-size: Not a size: "huge"/);
    const unitless = streaming('run', 'jobs/wordcount.ts', '-i', 'x', '-o', 'y', '--worker-memory', '192');
    expect(unitless.status).toBe(2);
    expect(unitless.stderr).toMatch(
      /--worker-memory 192 is 192 bytes: give it with a unit, e.g. --worker-memory 512MiB/,
    );
    expect(streaming('frobnicate').status).toBe(2);
    const typo = streaming('run', 'jobs/wordcount.ts', '-i', 'x', '-o', 'y', '--reducer', '3');
    expect(typo.status).toBe(2);
    expect(typo.stderr).toBe('streaming: unknown option --reducer (did you mean --reducers?)\n');
    expect(streaming('estimate', '--input-size', '1GB', '--memroy', '512').stderr).toMatch(
      /unknown option --memroy \(did you mean --memory\?\)/,
    );
    expect(streaming('rnu').stderr).toMatch(/unknown command "rnu" \(did you mean "run"\?\)/);
    expect(streaming('run', '--help').stdout).toMatch(/Usage: streaming run/);
  });

  it('cat prints a completed job’s records in part order; ls lists its parts; both refuse an incomplete output', () => {
    const out = path.join(tempDir(), 'out');
    expect(
      streaming('run', 'jobs/wordcount.ts', '-i', path.join(MOBY, 'chapter_1.txt'), '-o', out, '-r', '2', '--quiet')
        .status,
    ).toBe(0);
    const cat = streaming('cat', out);
    expect(cat.status).toBe(0);
    const parts = ['part-r-00000', 'part-r-00001'].map((p) => fs.readFileSync(path.join(out, p), 'utf8')).join('');
    expect(cat.stdout).toBe(parts);
    const ls = streaming('ls', out);
    expect(ls.stdout).toMatch(/part-r-00000\n.*part-r-00001\njob wordcount-\S+ \(wordcount\) completed: 2 parts/s);
    const none = streaming('cat', path.join(tempDir(), 'empty'));
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/holds no completed job/);
  });
});
