/**
 * The map manifest's items (splits.json, DESIGN §2): what the Distributed Map hands each map
 * task. A split's chunks travel in its item while they are few. A split of many objects
 * (thousands of short documents) would make an item past Step Functions' 256 KiB quota, and
 * items the local interpreter copies at every state, so its chunks go to one side object Plan
 * writes (`split-chunks.jsonl`, a line per such split) and its item names its byte range there:
 * a claim check. The map task reads the range back (one ranged read) before it starts.
 */
import { DEFAULTS } from '../config.js';
import type { Chunk } from '../format/lines.js';
import type { StorageRouter } from '../storage/index.js';
import type { Split } from './plan.js';

/**
 * Where a split's chunks are: bytes [start, end) of `uri`, one JSON line
 * `[prefix, [[rest, start, end, size], …]]`, each chunk's URI `prefix + rest` (a gzip chunk has
 * a fifth element, 1). 258,714 short documents took 29 MB as chunk objects, 8 MB so: less for
 * Plan to write and each map task to parse.
 */
export interface ChunksAt {
  uri: string;
  start: number;
  end: number;
}

/** A map manifest item: a split with its chunks, or with where they are. */
export type SplitItem = Split | { index: number; bytes: number; objects: number; chunksAt: ChunksAt };

/**
 * The items of `splits`: chunks inline up to `inlineBytes` of JSON, else by reference into the
 * side object `listingUri`, whose body is returned as `listing` (undefined when every split is inline).
 */
export function splitItems(
  splits: readonly Split[],
  listingUri: string,
  inlineBytes: number = DEFAULTS.inlineSplitBytes,
): { items: SplitItem[]; listing?: string } {
  const lines: string[] = [];
  let offset = 0;
  const items = splits.map((split): SplitItem => {
    // A chunk's JSON takes at least MIN_CHUNK_JSON bytes: a long list is never measured.
    if (
      split.chunks.length * MIN_CHUNK_JSON <= inlineBytes &&
      Buffer.byteLength(JSON.stringify(split.chunks)) <= inlineBytes
    )
      return split;
    const json = compactChunks(split.chunks);
    const bytes = Buffer.byteLength(json);
    lines.push(json);
    const chunksAt = { uri: listingUri, start: offset, end: offset + bytes };
    offset += bytes + 1; // its newline
    return { index: split.index, bytes: split.bytes, objects: split.chunks.length, chunksAt };
  });
  return lines.length > 0 ? { items, listing: `${lines.join('\n')}\n` } : { items };
}

/** The JSON of a chunk with an empty URI: what every chunk's JSON has at least. */
const MIN_CHUNK_JSON = JSON.stringify({ uri: '', start: 0, end: 0, size: 0 }).length;

/** A split's chunks as a line of the side object (see ChunksAt). */
function compactChunks(chunks: readonly Chunk[]): string {
  let prefix = chunks[0]!.uri.slice(0, chunks[0]!.uri.lastIndexOf('/') + 1);
  for (const c of chunks)
    while (!c.uri.startsWith(prefix)) prefix = prefix.slice(0, prefix.lastIndexOf('/', prefix.length - 2) + 1);
  const rows = chunks.map((c) => {
    const row: (string | number)[] = [c.uri.slice(prefix.length), c.start, c.end, c.size];
    if (c.gzip) row.push(1);
    return row;
  });
  return JSON.stringify([prefix, rows]);
}

/** The chunks of a side object's line (see ChunksAt). */
function chunksOf(line: string): Chunk[] {
  const [prefix, rows] = JSON.parse(line) as [string, [string, number, number, number, 1?][]];
  return rows.map(([rest, start, end, size, gzip]) =>
    gzip ? { uri: prefix + rest, start, end, size, gzip: true } : { uri: prefix + rest, start, end, size },
  );
}

/** The split an item stands for: its own chunks, or those read back from where it names. */
export async function loadSplit(storage: StorageRouter, item: SplitItem): Promise<Split> {
  if ('chunks' in item && Array.isArray(item.chunks)) return item;
  if (!('chunksAt' in item) || typeof item.chunksAt?.uri !== 'string')
    throw new Error(
      "The map task got a split with neither chunks nor chunksAt in its input: the state machine definition is not Streaming's, or Plan is of another version.",
    );
  const { uri, start, end } = item.chunksAt;
  const parts: Uint8Array[] = [];
  for await (const part of storage.for(uri).read(uri, { start, end })) parts.push(part);
  const body = Buffer.concat(parts);
  if (body.length !== end - start)
    throw new Error(
      `Map task ${item.index}: its chunk list ${uri} [${start}, ${end}) read back ${body.length} bytes: the job's scratch was changed while it ran.`,
    );
  return { index: item.index, bytes: item.bytes, chunks: chunksOf(body.toString('utf8')) };
}
