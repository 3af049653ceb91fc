import { createHash, randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidJobError } from '../../functions/errors.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** A sibling module of this file, as TypeScript source (in the repo) or built JavaScript (installed). */
function sibling(rel: string): string {
  const js = path.join(here, `${rel}.js`);
  return existsSync(js) ? js : path.join(here, `${rel}.ts`);
}

/**
 * Bundles a job module (TypeScript or JavaScript, no build step) with the worker runtime into
 * one ES module, the way the Lambda functions are bundled: esbuild, everything inlined but
 * Node's built-ins. The bundle's default export is the job; inside a Streaming worker thread
 * it also starts serving tasks. `streaming` imports resolve to this SDK, so the job and the
 * engine share one copy of it.
 */
export async function bundleJob(
  jobPath: string,
  cacheRoot = path.join(os.tmpdir(), 'streaming-bundles'),
): Promise<string> {
  const entry = path.resolve(jobPath);
  if (!existsSync(entry))
    throw new InvalidJobError(`Job module not found: ${jobPath}. Give the path of a .ts or .js file.`);
  const contents = [
    `import job from ${JSON.stringify(entry)};`,
    `import { startWorker } from ${JSON.stringify(sibling('worker-main'))};`,
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
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node20',
    metafile: true,
    sourcemap: 'inline' as const,
    // Stacks need file and line only; embedding every source would cost each worker memory.
    sourcesContent: false,
    alias: { streaming: sibling('../index') },
    // CommonJS dependencies inside an ES module bundle need `require`.
    banner: {
      js: "import { createRequire as __streamingRequire } from 'node:module'; const require = __streamingRequire(import.meta.url);",
    },
    logLevel: 'silent' as const,
  };
  // One cache entry per job and bundling options: reused while none of the files that went into it changed.
  const key = createHash('sha256').update(JSON.stringify(options)).digest('hex').slice(0, 16);
  const outDir = path.join(cacheRoot, key);
  const outfile = path.join(outDir, 'job.bundle.mjs');
  const inputsFile = path.join(outDir, 'inputs.json');
  if (await unchanged(inputsFile)) {
    const now = new Date();
    await fs.utimes(inputsFile, now, now).catch(() => {});
    return outfile;
  }
  await pruneCache(cacheRoot);
  // Named through a variable so that bundlers leave it out: this module is part of the SDK that
  // every job bundle and Lambda function carries, and only the engine's thread builds bundles.
  const esbuild = 'esbuild';
  const { build } = (await import(esbuild)) as typeof import('esbuild');
  await fs.mkdir(outDir, { recursive: true });
  // Built under temporary names and renamed into place, so concurrent runs never see half a bundle.
  const suffix = `.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  let inputs: string[];
  try {
    const result = await build({ ...options, outfile: outfile + suffix });
    inputs = Object.keys(result.metafile?.inputs ?? {})
      .map((f) => path.resolve(f))
      .filter((f) => existsSync(f));
  } catch (e) {
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
  const stamps = await Promise.all(inputs.map(async (f) => [f, await stamp(f)] as const));
  await fs.rename(outfile + suffix, outfile);
  await fs.writeFile(inputsFile + suffix, JSON.stringify(stamps));
  await fs.rename(inputsFile + suffix, inputsFile);
  return outfile;
}

const CACHE_DAYS = 7;

/** Drops bundles no run has used for CACHE_DAYS (each use touches its inputs.json). */
async function pruneCache(root: string): Promise<void> {
  const cutoff = Date.now() - CACHE_DAYS * 86_400_000;
  const entries = await fs.readdir(root).catch(() => [] as string[]);
  for (const e of entries) {
    // An entry without inputs.json may be another run's build in progress: leave it.
    const used = await fs.stat(path.join(root, e, 'inputs.json')).then(
      (st) => st.mtimeMs,
      () => Number.POSITIVE_INFINITY,
    );
    if (used < cutoff) await fs.rm(path.join(root, e), { recursive: true, force: true });
  }
}

/** Size and modification time: what tells that a source file changed. */
async function stamp(file: string): Promise<string> {
  return stampSync(file);
}

function stampSync(file: string): string {
  const st = statSync(file);
  return `${st.size}:${st.mtimeMs}`;
}

async function unchanged(inputsFile: string): Promise<boolean> {
  try {
    const stamps = JSON.parse(await fs.readFile(inputsFile, 'utf8')) as [string, string][];
    // Synchronous stats: a bundle holds hundreds of files (the SDK and its dependencies), and one
    // awaited stat each took a third of a second of every run's start-up.
    for (const [file, was] of stamps) if (stampSync(file) !== was) return false;
    return stamps.length > 0;
  } catch {
    return false;
  }
}
