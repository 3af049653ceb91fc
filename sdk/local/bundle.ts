import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
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
export async function bundleJob(jobPath: string, outDir: string): Promise<string> {
  const entry = path.resolve(jobPath);
  if (!existsSync(entry))
    throw new InvalidJobError(`Job module not found: ${jobPath}. Give the path of a .ts or .js file.`);
  const { build } = await import('esbuild');
  await fs.mkdir(outDir, { recursive: true });
  const outfile = path.join(outDir, 'job.bundle.mjs');
  const contents = [
    `import job from ${JSON.stringify(entry)};`,
    `import { startWorker } from ${JSON.stringify(sibling('worker-main'))};`,
    'startWorker(job);',
    'export default job;',
  ].join('\n');
  try {
    await build({
      stdin: { contents, resolveDir: path.dirname(entry), sourcefile: 'streaming-worker-entry.js', loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      sourcemap: 'inline',
      alias: { streaming: sibling('../index') },
      // CommonJS dependencies inside an ES module bundle need `require`.
      banner: {
        js: "import { createRequire as __streamingRequire } from 'node:module'; const require = __streamingRequire(import.meta.url);",
      },
      logLevel: 'silent',
    });
  } catch (e) {
    const errors =
      (e as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? ` (${first.location.file}:${first.location.line})` : '';
    throw new InvalidJobError(`Cannot build job module ${jobPath}: ${first?.text ?? (e as Error).message}${where}`);
  }
  return outfile;
}
