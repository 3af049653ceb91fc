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

/** Where a split's chunks are: bytes [start, end) of `uri`, a JSON array. */
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
    const json = JSON.stringify(split.chunks);
    const bytes = Buffer.byteLength(json);
    if (bytes <= inlineBytes) return split;
    lines.push(json);
    const chunksAt = { uri: listingUri, start: offset, end: offset + bytes };
    offset += bytes + 1; // its newline
    return { index: split.index, bytes: split.bytes, objects: split.chunks.length, chunksAt };
  });
  return lines.length > 0 ? { items, listing: `${lines.join('\n')}\n` } : { items };
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
  const chunks = JSON.parse(body.toString('utf8')) as Chunk[];
  return { index: item.index, bytes: item.bytes, chunks };
}
