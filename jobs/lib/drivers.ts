/** What the iterative drivers (logistic regression, k-means) share: job outputs read and models written on local files. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidJobError, type JobManifest } from 'streaming';

/** The text of a completed local job's output, its parts in order. */
export async function outputText(manifest: JobManifest): Promise<string> {
  return (await Promise.all(manifest.parts.map((p) => fs.readFile(fileURLToPath(p.uri), 'utf8')))).join('');
}

/** A model as a completed job's output: its part, then `_SUCCESS` (what side inputs look for). */
export async function writeModel(
  output: string,
  records: { key: unknown[]; value: unknown }[] | string,
): Promise<void> {
  const dir = output.startsWith('file://') ? fileURLToPath(output) : output;
  await fs.mkdir(dir, { recursive: true });
  await fs.rm(path.join(dir, '_SUCCESS'), { force: true });
  const text = typeof records === 'string' ? records : records.map((r) => `${JSON.stringify(r)}\n`).join('');
  await fs.writeFile(path.join(dir, 'part-r-00000'), text);
  await fs.writeFile(path.join(dir, '_SUCCESS'), '');
}

/**
 * A job module beside the driver's own (`.ts` or `.js`, as the driver's file is). Bundled into
 * a program, `import.meta.url` is the program's file, and the modules must be given.
 */
export function sibling(driverUrl: string, driver: string, name: string, option: string): string {
  const file = fileURLToPath(driverUrl);
  const m = new RegExp(`^${driver}\\.([cm]?[jt]s)$`).exec(path.basename(file));
  if (!m)
    throw new InvalidJobError(
      `The ${driver} driver runs from ${file}, not from its module (bundled into a program?): give it ${option} with the path of jobs/${name}.ts.`,
    );
  return path.join(path.dirname(file), `${name}.${m[1]}`);
}

/** A seeded generator of uniform numbers in [0, 1) (mulberry32): the same sequence for a seed everywhere. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
