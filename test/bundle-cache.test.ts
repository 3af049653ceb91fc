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

/** The bundles in the cache (folders named by their content), by name. */
const bundles = (root: string) =>
  fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((f) => /^[0-9a-f]{16}$/.test(f))
        .sort()
    : [];
/** The bundle's name, from the path of its entry. */
const nameOf = (entry: string) => path.basename(path.dirname(entry));

/** Makes every bundle look last used two minutes earlier than it was (past the window in which a starting run may load it). */
function age(root: string): void {
  // Shifted, not set to one time: the order of use is kept (a tie would leave the pruning order
  // to the names, which are content hashes, and the test to chance).
  for (const b of bundles(root)) {
    const file = path.join(root, b, 'job.mjs');
    const { mtimeMs } = fs.statSync(file);
    const then = new Date(mtimeMs - 120_000);
    fs.utimesSync(file, then, then);
  }
}

/** A folder with job.ts (job(1)) and the scale.ts it imports (multiplying by `factor`), and where its cache goes. */
function jobFolder(factor: number): { dir: string; root: string; file: string } {
  const dir = tempDir();
  const file = path.join(dir, 'job.ts');
  fs.writeFileSync(path.join(dir, 'scale.ts'), `export const scale = (n: number) => ${factor} * n;\n`);
  fs.writeFileSync(file, job(1));
  return { dir, root: path.join(dir, 'cache'), file };
}

describe('the job bundle cache', () => {
  it('names a bundle by its content: an edit undone finds the earlier bundle, an unchanged job is not rebuilt', async () => {
    const { dir, root, file } = jobFolder(2);
    const first = await bundleJob(file, root);
    expect(nameOf(first)).toMatch(/^[0-9a-f]{16}$/);
    expect(path.basename(first)).toBe('job.mjs');
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
    expect(bundles(root)).toEqual([made[0], made[4]].map((f) => nameOf(f!)).sort());
    // The records of pruned bundles go with them: a pruned job is built again.
    expect(fs.readdirSync(path.join(root, 'refs'))).toHaveLength(2);
    expect(fs.existsSync(await bundleJob(path.join(dir, 'job-1.ts'), root, 2))).toBe(true);
  });

  it("loads the AWS SDK's clients only when a run needs them: they are chunks the entry does not import", async () => {
    const { root, file } = jobFolder(1);
    // A single-file bundle of the cache's earlier layout goes at the next build.
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(path.join(root, '0123456789abcdef.mjs'), 'export default 1;\n');
    const entry = await bundleJob(file, root);
    expect(fs.existsSync(path.join(root, '0123456789abcdef.mjs'))).toBe(false);
    // What loading the entry loads: it and the chunks it imports statically, transitively.
    const loaded = new Set<string>();
    const visit = (name: string) => {
      if (loaded.has(name)) return;
      loaded.add(name);
      const code = fs.readFileSync(path.join(path.dirname(entry), name), 'utf8');
      for (const m of code.matchAll(/^import\s[^;]*?from\s*"\.\/([^"]+)";?$/gm)) visit(m[1]!);
      for (const m of code.matchAll(/^import\s*"\.\/([^"]+)";?$/gm)) visit(m[1]!);
    };
    visit('job.mjs');
    const holdsS3 = (name: string) =>
      fs.readFileSync(path.join(path.dirname(entry), name), 'utf8').includes('// node_modules/@aws-sdk/client-s3/');
    const all = fs.readdirSync(path.dirname(entry));
    expect(all.some(holdsS3)).toBe(true);
    expect([...loaded].filter(holdsS3)).toEqual([]);
    const loadedBytes = [...loaded].reduce((n, f) => n + fs.statSync(path.join(path.dirname(entry), f)).size, 0);
    const allBytes = all.reduce((n, f) => n + fs.statSync(path.join(path.dirname(entry), f)).size, 0);
    expect(loadedBytes).toBeLessThan(allBytes / 3);
  });
});
