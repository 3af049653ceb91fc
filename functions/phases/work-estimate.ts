/**
 * Equal work rather than equal bytes, for the splits of a job whose map tasks each write a
 * whole table (a combiner: one split per worker, plan.ts splitSizes). A map function pays per
 * line as well as per byte, so a split of short lines takes longer than one of as many bytes of
 * long lines, and the worker given the long lines waits. Plan samples the line density across
 * the input, estimates each range's work as its bytes plus DEFAULTS.recordCostBytes per line,
 * and cuts the splits at equal estimated work. Local input only: a sample there is a read from
 * the page cache; on S3 each would be a request, and the splits stay equal in bytes.
 */
import { DEFAULTS } from '../config.js';
import type { ObjectInfo, StorageRouter } from '../storage/index.js';
import { isGzipUri } from '../storage/uri.js';

/** A range of the input (the objects in order, as one stream of bytes) and its estimated work. */
export interface WorkPiece {
  bytes: number;
  work: number;
}

/** Samples taken across the whole input, at even steps of its bytes, whatever the number of objects. */
const SAMPLES = 64;
/** Bytes read per sample (less where its object ends first). */
const SAMPLE_BYTES = 64 * 1024;

/**
 * The input as SAMPLES pieces of estimated work: the objects as one stream of bytes cut into
 * equal ranges, a range's lines estimated from a sample read where it starts. At most SAMPLES
 * reads, however many objects (a sample per object of 250,000 short documents would be a pass
 * of its own). Undefined when an object is not local, or is compressed (a split of its own,
 * whatever the cuts say).
 */
export function sampledWork(
  storage: StorageRouter,
  objects: readonly ObjectInfo[],
  recordCost: number = DEFAULTS.recordCostBytes,
): WorkPiece[] | undefined {
  const files = objects.filter((o) => o.size > 0);
  if (files.some((o) => isGzipUri(o.uri) || !storage.for(o.uri).readNow)) return undefined;
  const total = files.reduce((n, o) => n + o.size, 0);
  const n = Math.min(SAMPLES, total);
  const pieces: WorkPiece[] = [];
  let i = 0;
  let objectStart = 0; // where files[i] starts in the stream
  for (let k = 0; k < n; k++) {
    const start = Math.floor((k * total) / n);
    const end = Math.floor(((k + 1) * total) / n);
    while (objectStart + files[i]!.size <= start) objectStart += files[i++]!.size;
    const o = files[i]!;
    const at = start - objectStart;
    const sample = storage.for(o.uri).readNow!(o.uri, { start: at, end: Math.min(o.size, at + SAMPLE_BYTES) });
    const density = sample.length > 0 ? newlines(sample) / sample.length : 0;
    pieces.push({ bytes: end - start, work: (end - start) * (1 + recordCost * density) });
  }
  return pieces;
}

function newlines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * The sizes in bytes of `parts` consecutive splits of equal estimated work (they add up to the
 * pieces' bytes; each at least one byte), for makeSplits.
 */
export function equalWorkSizes(pieces: readonly WorkPiece[], parts: number): number[] {
  const totalWork = pieces.reduce((n, p) => n + p.work, 0);
  const totalBytes = pieces.reduce((n, p) => n + p.bytes, 0);
  const sizes: number[] = [];
  let work = 0;
  let pos = 0;
  let cut = 0;
  for (const p of pieces) {
    if (p.bytes === 0) continue;
    const perByte = p.work / p.bytes;
    let left = p.bytes;
    // Cut inside this piece while it holds the next split's boundary.
    while (left > 0 && sizes.length < parts - 1 && work + left * perByte >= (totalWork * (sizes.length + 1)) / parts) {
      const take = Math.min(left, Math.max(1, Math.ceil(((totalWork * (sizes.length + 1)) / parts - work) / perByte)));
      pos += take;
      work += take * perByte;
      left -= take;
      sizes.push(pos - cut);
      cut = pos;
    }
    pos += left;
    work += left * perByte;
  }
  if (totalBytes > cut) sizes.push(totalBytes - cut);
  return sizes;
}
