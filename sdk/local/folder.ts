import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The local engine's folder (dist/sdk/local, or sdk/local run from source), from the URL of a
 * module in it: its own folder, or the local/ folder beside it when the module was bundled into
 * the CLI (dist/sdk/cli.js and its chunks, scripts/bundle-cli.mjs), where files next to the
 * engine's modules (the worker runtime, the interpreter) are found.
 */
export function localFolder(moduleUrl: string): string {
  const dir = path.dirname(fileURLToPath(moduleUrl));
  return path.basename(dir) === 'local' ? dir : path.join(dir, 'local');
}
