/**
 * Stacks that name the job's own source lines, a map read only when a stack is made.
 *
 * Node's `--enable-source-maps` (process.setSourceMapsEnabled) reads and parses a module's map
 * as the module loads: for a job bundle, ~20-40 ms of every worker thread's start-up, paid by
 * every run whether or not anything fails. The bundles carry their maps beside them instead
 * (`<chunk>.mjs.map`, sources as absolute paths: see bundle.ts); a worker formats its stacks
 * through `installSourceMappedStacks`, and the stack of a bundle that fails to load (thrown
 * before that) is mapped by the pool with `sourceMappedStack`.
 */
import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';

/** A frame's location in a bundle file: `file:///…/x.mjs:line:column`. */
const BUNDLE_FRAME = /(file:\/\/\/[^\s()]+?\.mjs):(\d+):(\d+)/g;

/** Each bundle file's map, once read; null where it has none. */
const maps = new Map<string, SourceMap | null>();

function mapOf(url: string): SourceMap | null {
  let map = maps.get(url);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8')) as SourceMapPayload);
    } catch {
      map = null; // not a bundle of ours, or its map is gone: the frame stays as it is
    }
    maps.set(url, map);
  }
  return map;
}

/** A line of a stack with each location in a bundle file given as the source line it was built from. */
function mapped(line: string): string {
  return line.replace(BUNDLE_FRAME, (frame, url: string, l: string, c: string) => {
    const entry = mapOf(url)?.findEntry(Number(l) - 1, Number(c) - 1) as
      | { originalSource?: string; originalLine?: number; originalColumn?: number }
      | undefined;
    if (entry?.originalSource === undefined || entry.originalLine === undefined) return frame;
    return `${entry.originalSource}:${entry.originalLine + 1}:${(entry.originalColumn ?? 0) + 1}`;
  });
}

/** The stack's lines, each frame in a bundle file given as the source line it was built from. */
export function sourceMappedStack(lines: readonly string[]): string[] {
  return lines.map(mapped);
}

/**
 * Makes every stack of this thread name source lines: V8's own format (the error's string,
 * then a frame per line as V8 writes it), each frame mapped. V8 makes a stack when it is first
 * read, so a run that reads none reads no map.
 */
export function installSourceMappedStacks(): void {
  Error.prepareStackTrace = (error: Error, frames: NodeJS.CallSite[]) => {
    let head: string;
    try {
      head = Error.prototype.toString.call(error);
    } catch {
      head = '<error>';
    }
    return head + frames.map((f) => `\n    at ${mapped(f.toString())}`).join('');
  };
}
