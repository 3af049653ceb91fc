import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe } from '@jest/globals';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const MOBY = path.join(ROOT, 'node_modules', '@stdlib', 'datasets-moby-dick', 'data');

/**
 * `describe` where python3 runs, else `describe.skip` with a warning: the stream-program tests
 * run the Hadoop Streaming tutorial's Python programs, and `npm test` needs nothing but Node.
 */
export const describeWithPython3: (name: string, tests: () => void) => void =
  spawnSync('python3', ['--version'], { stdio: 'ignore' }).status === 0
    ? describe
    : (() => {
        console.warn('python3 is not on PATH: the tests of Python stream programs are skipped');
        return describe.skip;
      })();

/** The folders tempDir made for the test file that imports this module: removed once its tests end. */
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A new folder in the OS temp dir, removed after the test file's last test. */
export function tempDir(prefix = 'streaming-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** The part files of an output directory, in name order. */
export function partFiles(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^part-[mr]-\d+$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Concatenated output lines of all parts. */
export function outputLines(dir: string): string[] {
  return partFiles(dir).flatMap((f) => {
    const text = fs.readFileSync(f, 'utf8');
    return text === '' ? [] : text.replace(/\n$/, '').split('\n');
  });
}

/** `word<TAB>count` lines summed into a map. */
export function countsOf(lines: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) {
    const tab = l.lastIndexOf('\t');
    const k = l.slice(0, tab);
    m.set(k, (m.get(k) ?? 0) + Number(l.slice(tab + 1)));
  }
  return m;
}

/** Word counts computed independently of the engine: the regular expression on each lower-cased line. */
export function expectedWordCounts(files: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of files) {
    for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
      for (const w of line.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []) m.set(w, (m.get(w) ?? 0) + 1);
    }
  }
  return m;
}

export function sortedEntries<V>(m: Map<string, V>): [string, V][] {
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
