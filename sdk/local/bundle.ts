import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS } from '../../functions/config.js';
import { InvalidJobError } from '../../functions/errors.js';
import { localFolder } from './folder.js';

const here = localFolder(import.meta.url);

/** A sibling module of this file, as TypeScript source (in the repo) or built JavaScript (installed). */
function sibling(rel: string): string {
  const js = path.join(here, `${rel}.js`);
  return existsSync(js) ? js : path.join(here, `${rel}.ts`);
}

/**
 * What a run's workers load: a job module (its default export), a job exported by a module
 * (handed to runLocal() by value: found by its name), or a module's exported functions (executor
 * calls). Code never travels at run time: the module is bundled, and the run names an export.
 */
export type JobSource = string | { module: string; job: string } | { module: string; executor: true };

export const sourceModule = (source: JobSource) => (typeof source === 'string' ? source : source.module);

/** The entry module of a bundle, in the bundle's folder. */
const ENTRY = 'job.mjs';

/**
 * Bundles a job module (TypeScript or JavaScript, no build step) with the worker runtime, the
 * way the Lambda functions are bundled: esbuild, everything inlined but Node's built-ins. The
 * bundle is a folder of ES modules: the entry (returned), whose default export is the job and
 * which inside a Streaming worker thread also starts serving tasks, and the chunks it imports
 * only when a run needs them (code splitting). The AWS SDK's clients (~1.4 MB of the ~1.7 MB)
 * are such chunks, so a run over local files never parses them: every thread that loads the
 * job saved ~60 ms of start-up. `streaming` imports resolve to this SDK, so the job and the
 * engine share one copy of it.
 */
export async function bundleJob(
  source: JobSource,
  cacheRoot = path.join(os.tmpdir(), 'streaming-bundles'),
  maxEntries: number = DEFAULTS.bundleCacheEntries,
): Promise<string> {
  const jobPath = sourceModule(source);
  const entry = path.resolve(jobPath);
  if (!existsSync(entry))
    throw new InvalidJobError(`Job module not found: ${jobPath}. Give the path of a .ts or .js file.`);
  const q = JSON.stringify;
  const select =
    typeof source === 'string'
      ? [`import job from ${q(entry)};`]
      : [
          `import * as exports from ${q(entry)};`,
          `import { executorJob, exportedJob } from ${q(sibling('../../functions/executor'))};`,
          'job' in source
            ? `const job = exportedJob(exports, ${q(source.job)}, ${q(jobPath)});`
            : `const job = executorJob(exports, ${q(jobPath)});`,
        ];
  const contents = [
    ...select,
    `import { startWorker } from ${q(sibling('worker-main'))};`,
    'startWorker(job);',
    'export default job;',
  ].join('\n');
  const options = {
    stdin: {
      contents,
      resolveDir: path.dirname(entry),
      sourcefile: 'streaming-worker-entry.js',
      loader: 'js' as const,
    },
    bundle: true,
    splitting: true,
    entryNames: ENTRY.replace(/\.mjs$/, ''),
    chunkNames: '[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node20',
    metafile: true,
    // Beside each chunk (`.mjs.map`), named by no comment in it: Node loads no map with the
    // code, and a worker reads a map only when it makes a stack (source-map.ts).
    sourcemap: 'external' as const,
    // Stacks need file and line only.
    sourcesContent: false,
    alias: { streaming: sibling('../index') },
    // CommonJS dependencies inside an ES module bundle need `require` (in every chunk).
    banner: {
      js: "import { createRequire as __streamingRequire } from 'node:module'; const require = __streamingRequire(import.meta.url);",
    },
    logLevel: 'silent' as const,
  };
  // The bundles are named by their content; a small record per job and bundling options names
  // the bundle last built for them and the files that went into it, reused while none changed.
  const ref = path.join(
    cacheRoot,
    'refs',
    `${createHash('sha256').update(JSON.stringify(options)).digest('hex').slice(0, 16)}.json`,
  );
  const cached = await upToDate(cacheRoot, ref);
  if (cached) {
    const now = new Date();
    await fs.utimes(cached, now, now).catch(() => {});
    return cached;
  }
  // Named through a variable so that bundlers leave it out: this module is part of the SDK that
  // every job bundle and Lambda function carries, and only the engine's thread builds bundles.
  const esbuild = 'esbuild';
  const { build } = (await import(esbuild)) as typeof import('esbuild');
  await fs.mkdir(path.join(cacheRoot, 'refs'), { recursive: true });
  // Built under a temporary name and renamed into place, so concurrent runs never see half a bundle.
  const suffix = `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const built = path.join(cacheRoot, `build${suffix}`);
  let inputs: string[];
  let outputs: string[];
  try {
    const result = await build({ ...options, outdir: built });
    await absoluteSources(built);
    inputs = Object.keys(result.metafile?.inputs ?? {})
      .map((f) => path.resolve(f))
      .filter((f) => existsSync(f));
    outputs = Object.keys(result.metafile?.outputs ?? {})
      .map((f) => path.basename(f))
      .sort();
  } catch (e) {
    await fs.rm(built, { recursive: true, force: true });
    const errors =
      (e as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    const first = errors[0];
    if (first?.text.includes('for import "default"'))
      throw new InvalidJobError(
        `Job module ${jobPath} has no default export: end it with export default defineJob({...}) (or definePipeline({...})).`,
      );
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
    throw new InvalidJobError(`Cannot build job module ${jobPath}: ${first?.text ?? (e as Error).message}${where}`);
  }
  const hash = createHash('sha256');
  for (const name of outputs)
    hash
      .update(name)
      .update('\0')
      .update(await fs.readFile(path.join(built, name)));
  const name = hash.digest('hex').slice(0, 16);
  const folder = path.join(cacheRoot, name);
  // The same content may be there already (another path to the same job, an edit undone, a
  // concurrent run): then that folder stays, and this build goes.
  await fs.rename(built, folder).catch(() => fs.rm(built, { recursive: true, force: true }));
  const record: Ref = { bundle: name, inputs: inputs.map((f) => [f, stampSync(f)]) };
  await fs.writeFile(ref + suffix, JSON.stringify(record));
  await fs.rename(ref + suffix, ref);
  await pruneCache(cacheRoot, folder, maxEntries);
  return path.join(folder, ENTRY);
}

/**
 * Rewrites the source maps of a bundle built in `dir` to name their sources by absolute path:
 * the bundle is renamed into the cache and linked into each run's folder, and a map's paths
 * relative to where it was built would mean other files there.
 */
async function absoluteSources(dir: string): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    if (!name.endsWith('.map')) continue;
    const file = path.join(dir, name);
    const map = JSON.parse(await fs.readFile(file, 'utf8')) as { sources: string[] };
    map.sources = map.sources.map((s) => path.resolve(dir, s));
    await fs.writeFile(file, JSON.stringify(map));
  }
}

/** What a job's record in refs/ holds: its bundle's folder and a stamp of each file that went into it. */
interface Ref {
  bundle: string;
  inputs: [string, string][];
}

/** The bundle a record names, while it exists and none of its input files changed. */
async function upToDate(root: string, ref: string): Promise<string | undefined> {
  try {
    const { bundle, inputs } = JSON.parse(await fs.readFile(ref, 'utf8')) as Ref;
    // Synchronous stats: a bundle holds hundreds of files (the SDK and its dependencies), and one
    // awaited stat each took a third of a second of every run's start-up.
    for (const [file, was] of inputs) if (stampSync(file) !== was) return undefined;
    const file = path.join(root, bundle, ENTRY);
    return inputs.length > 0 && existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A bundle used this recently is never removed: a run that has just been given it is about to
 * pin it (pinBundle) and load it.
 */
const IN_USE_MS = 60_000;

/**
 * The run's own links to its bundle's files, in the run's folder: the worker threads load it
 * from there, so a worker started late in a long run (replacing one that died) finds it even
 * after the cache pruned the bundle. Hard links where the cache and the folder share a file
 * system, else copies. Returns the entry's path.
 */
export async function pinBundle(bundle: string, runDir: string): Promise<string> {
  const from = path.dirname(bundle);
  const to = path.join(runDir, 'bundle');
  await fs.mkdir(to, { recursive: true });
  for (const name of await fs.readdir(from))
    await fs
      .link(path.join(from, name), path.join(to, name))
      .catch(() => fs.copyFile(path.join(from, name), path.join(to, name)));
  return path.join(to, path.basename(bundle));
}

/**
 * Keeps the `maxEntries` (DEFAULTS.bundleCacheEntries) most recently used bundles (each use
 * touches its entry) and the records that name them; removes the rest, builds abandoned for an
 * hour, and entries of the cache's earlier layouts (single-file bundles, one folder per job).
 */
async function pruneCache(root: string, keep: string, maxEntries: number): Promise<void> {
  const now = Date.now();
  const names = await fs.readdir(root).catch(() => [] as string[]);
  const bundles: { name: string; used: number }[] = [];
  for (const name of names) {
    if (name === 'refs') continue;
    const file = path.join(root, name);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st) continue;
    if (name.startsWith('build.')) {
      if (now - st.mtimeMs > 3_600_000) await fs.rm(file, { recursive: true, force: true });
      continue;
    }
    const entry = st.isDirectory() ? await fs.stat(path.join(file, ENTRY)).catch(() => undefined) : undefined;
    if (entry) bundles.push({ name, used: entry.mtimeMs });
    else await fs.rm(file, { recursive: true, force: true });
  }
  bundles.sort((a, b) => b.used - a.used);
  const kept = new Set<string>();
  for (const [i, b] of bundles.entries()) {
    if (i < maxEntries || now - b.used < IN_USE_MS || b.name === path.basename(keep)) kept.add(b.name);
    else await fs.rm(path.join(root, b.name), { recursive: true, force: true });
  }
  const refs = path.join(root, 'refs');
  for (const name of await fs.readdir(refs).catch(() => [] as string[])) {
    if (name.endsWith('.tmp')) continue;
    const bundle = await fs
      .readFile(path.join(refs, name), 'utf8')
      .then((t) => (JSON.parse(t) as Ref).bundle)
      .catch(() => undefined);
    if (!bundle || !kept.has(bundle)) await fs.rm(path.join(refs, name), { recursive: true, force: true });
  }
}

function stampSync(file: string): string {
  const st = statSync(file);
  return `${st.size}:${st.mtimeMs}`;
}
