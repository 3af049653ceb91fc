/**
 * docs/stream-programs.md's examples, run as the page writes them: each marked shell block in a
 * scratch directory that looks like the repository root, `streaming` the built CLI, and what
 * each command prints held to the lines the page shows after it (whitespace runs compared as
 * one space, since the page shows tabs as spaces). The README's stream example names these
 * examples: they must exist.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { describeWithPython3, ROOT, tempDir } from './helpers.js';

const PAGE = path.join(ROOT, 'docs', 'stream-programs.md');
const MARK = '<!-- test/stream-docs.test.ts runs the next block -->';

interface Step {
  command: string;
  shown: string[];
}

/** The page's marked blocks, each a list of commands with the output lines shown after them. */
function blocks(): Step[][] {
  const page = fs.readFileSync(PAGE, 'utf8');
  return page
    .split(MARK)
    .slice(1)
    .map((after) => {
      const block = /^\s*```sh\n([\s\S]*?)```/.exec(after);
      if (!block) throw new Error(`${PAGE}: a marked block is not a sh block`);
      const steps: Step[] = [];
      for (const line of block[1]!.split('\n')) {
        if (line.trim() === '') continue;
        if (line.startsWith('#')) steps.at(-1)!.shown.push(line.replace(/^# ?/, ''));
        else steps.push({ command: line, shown: [] });
      }
      return steps;
    });
}

const normalize = (line: string) => line.trim().split(/\s+/).join(' ');

/** A scratch directory that looks like the repository root to the page's relative paths. */
function scratch(): string {
  const cwd = tempDir('streaming-stream-docs-');
  for (const d of ['examples', 'dist', 'node_modules', 'package.json'])
    fs.symlinkSync(path.join(ROOT, d), path.join(cwd, d));
  return cwd;
}

function run(cwd: string, command: string): string[] {
  const script = `streaming() { node "${path.join(ROOT, 'dist', 'sdk', 'cli.js')}" "$@"; }\n${command}`;
  const printed = execFileSync('sh', ['-c', script], { cwd, encoding: 'utf8', maxBuffer: 16 << 20 });
  return printed
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => normalize(l.replace(/file:\/\/\S+/g, 'file://<output>')));
}

describeWithPython3('docs/stream-programs.md', () => {
  const all = blocks();

  it('has the examples the page promises, and the README names files that exist', () => {
    expect(all.length).toBeGreaterThanOrEqual(5);
    const commands = all.flat().map((s) => s.command);
    for (const job of [
      'wordcount-python/wordcount.ts',
      'max-temperature/max-temperature.ts',
      'counters/weather-counts.ts',
    ])
      expect(commands.some((c) => c.includes(`examples/${job}`))).toBe(true);
    // Every path under examples/ that the README or this page names exists.
    for (const doc of [PAGE, path.join(ROOT, 'README.md')]) {
      const named = fs.readFileSync(doc, 'utf8').match(/examples\/[\w./-]+\.(?:ts|py)/g) ?? [];
      if (doc.endsWith('README.md')) expect(named.length).toBeGreaterThan(0);
      for (const p of named)
        expect({ doc, p, exists: fs.existsSync(path.join(ROOT, p)) }).toMatchObject({ exists: true });
    }
  });

  it.each(all.map((steps, i) => [i + 1, steps] as const))(
    'block %i prints what the page shows',
    (_i, steps) => {
      const cwd = scratch();
      for (const { command, shown } of steps) {
        const printed = run(cwd, command);
        if (shown.length > 0) expect({ command, printed }).toEqual({ command, printed: shown.map(normalize) });
      }
    },
    300_000,
  );
});
