/**
 * The local engine's cache of job bundles: entries named by their content, reused while no
 * file that went into them changed, and bounded in number (least recently used out first).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { bundleJob } from '../sdk/local/bundle.js';
import { tempDir } from './helpers.js';

const job = (factor: number) => `import { defineJob } from 'streaming';
import { scale } from './scale.js';
export default defineJob({ name: 'scaled', map(line, emit) { emit(line, scale(${factor})); }, reducers: 0 });
`;

/** The bundles in the cache, by name. */
const bundles = (root: string) =>
  fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((f) => f.endsWith('.mjs'))
        .sort()
    : [];

/** Makes every bundle look last used two minutes earlier than it was (past the window in which a starting run may load it). */
function age(root: string): void {
  // Shifted, not set to one time: the order of use is kept (a tie would leave the pruning order
  // to the names, which are content hashes, and the test to chance).
  for (const b of bundles(root)) {
    const file = path.join(root, b);
    const { mtimeMs } = fs.statSync(file);
    const then = new Date(mtimeMs - 120_000);
    fs.utimesSync(file, then, then);
  }
}

describe('the job bundle cache', () => {
  it('names a bundle by its content: an edit undone finds the earlier bundle, an unchanged job is not rebuilt', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'cache');
    const file = path.join(dir, 'job.ts');
    fs.writeFileSync(path.join(dir, 'scale.ts'), 'export const scale = (n: number) => 2 * n;\n');
    fs.writeFileSync(file, job(1));
    const first = await bundleJob(file, root);
    expect(path.basename(first)).toMatch(/^[0-9a-f]{16}\.mjs$/);
    const built = fs.statSync(first).ino;

    expect(await bundleJob(file, root)).toBe(first); // reused, not rebuilt
    expect(fs.statSync(first).ino).toBe(built);

    fs.writeFileSync(file, job(2));
    const second = await bundleJob(file, root);
    expect(second).not.toBe(first);
    // A change in a file the job imports counts too.
    fs.writeFileSync(path.join(dir, 'scale.ts'), 'export const scale = (n: number) => 3 * n;\n');
    const third = await bundleJob(file, root);
    expect(new Set([first, second, third]).size).toBe(3);

    fs.writeFileSync(path.join(dir, 'scale.ts'), 'export const scale = (n: number) => 2 * n;\n');
    fs.writeFileSync(file, job(1));
    expect(await bundleJob(file, root)).toBe(first);
    expect(bundles(root)).toHaveLength(3);
    const { default: loaded } = (await import(first)) as { default: { name: string } };
    expect(loaded.name).toBe('scaled');
  });

  it('keeps at most its number of entries, the least recently used going first', async () => {
    const dir = tempDir();
    const root = path.join(dir, 'cache');
    fs.writeFileSync(path.join(dir, 'scale.ts'), 'export const scale = (n: number) => n;\n');
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      const file = path.join(dir, `job-${i}.ts`);
      fs.writeFileSync(file, job(i));
      age(root);
      made.push(await bundleJob(file, root, 2));
      // Job 0 is used again before each new one, so it stays among the two most recent.
      if (i > 0) {
        age(root);
        expect(await bundleJob(path.join(dir, 'job-0.ts'), root, 2)).toBe(made[0]);
      }
      expect(bundles(root).length).toBeLessThanOrEqual(2);
    }
    expect(bundles(root)).toEqual([made[0], made[4]].map((f) => path.basename(f!)).sort());
    // The records of pruned bundles go with them: a pruned job is built again.
    expect(fs.readdirSync(path.join(root, 'refs'))).toHaveLength(2);
    expect(fs.existsSync(await bundleJob(path.join(dir, 'job-1.ts'), root, 2))).toBe(true);
  });
});
