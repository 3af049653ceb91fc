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

/** A split as a map task reads it: its chunks listed, or read from a chunk list one by one. */
export interface MapSplit {
  index: number;
  bytes: number;
  chunks: Iterable<Chunk>;
}

/**
 * Where a split's chunks are: bytes [start, end) of `uri`, one JSON line of columns
 * `[prefix, [rest, …], [start, …], [end, …], [size, …], [gzip chunk's position, …]]`, each
 * chunk's URI `prefix + rest`. 258,714 short documents took 29 MB as chunk objects, 8 MB as a
 * row per chunk, ~7% less as columns; and columns parse into a few arrays and the names, where rows
 * made an array per chunk: 8,087 chunks loaded in a fresh worker in 5.5 ms against 22 ms (1,200
 * fewer page faults: the arrays outlived the young generation and grew the heap).
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
  const gzip: number[] = [];
  chunks.forEach((c, i) => {
    if (c.gzip) gzip.push(i);
  });
  return JSON.stringify([
    prefix,
    chunks.map((c) => c.uri.slice(prefix.length)),
    chunks.map((c) => c.start),
    chunks.map((c) => c.end),
    chunks.map((c) => c.size),
    gzip,
  ]);
}

/**
 * The chunks of a side object's line (see ChunksAt), made one at a time as the task reaches
 * them: a chunk and its URI live while its object is read, not for the whole task.
 */
class ChunkList implements Iterable<Chunk> {
  private readonly prefix: string;
  private readonly rests: string[];
  private readonly starts: number[];
  private readonly ends: number[];
  private readonly sizes: number[];
  private readonly gzip: Set<number>;

  constructor(line: string, where: string) {
    const [prefix, rests, starts, ends, sizes, gzip] = JSON.parse(line) as [
      string,
      string[],
      number[],
      number[],
      number[],
      number[],
    ];
    // A run planned by another version (a deployment changed while it ran) wrote another form.
    const n = Array.isArray(rests) ? rests.length : -1;
    if (
      typeof prefix !== 'string' ||
      n < 0 ||
      (n > 0 && typeof rests[0] !== 'string') ||
      !Array.isArray(gzip) ||
      ![starts, ends, sizes].every((c) => Array.isArray(c) && c.length === n)
    )
      throw new Error(
        `The chunk list ${where} is not in the form this version reads: the run was planned by another version of Streaming. Run the job again.`,
      );
    this.prefix = prefix;
    this.rests = rests;
    this.starts = starts;
    this.ends = ends;
    this.sizes = sizes;
    this.gzip = new Set(gzip);
  }

  *[Symbol.iterator](): Iterator<Chunk> {
    const { prefix, rests, starts, ends, sizes, gzip } = this;
    for (let i = 0; i < rests.length; i++) {
      const uri = prefix + rests[i]!;
      yield gzip.has(i)
        ? { uri, start: starts[i]!, end: ends[i]!, size: sizes[i]!, gzip: true }
        : { uri, start: starts[i]!, end: ends[i]!, size: sizes[i]! };
    }
  }
}

/** The split an item stands for: its own chunks, or those read back from where it names. */
export async function loadSplit(storage: StorageRouter, item: SplitItem): Promise<MapSplit> {
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
  return {
    index: item.index,
    bytes: item.bytes,
    chunks: new ChunkList(body.toString('utf8'), `${uri} [${start}, ${end})`),
  };
}
