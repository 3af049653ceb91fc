import fs from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../config.js';
import { ObjectNotFoundError, StreamingError } from '../errors.js';
import { layout, type RunContext } from '../spec.js';
import type { StorageRouter } from '../storage/index.js';
import { type ItemLocation, toItemLocation } from '../storage/uri.js';
import { mapLimit, type TaskEnv } from './env.js';
import type { MapIndex } from './map.js';

/** A range of one map task's data object that a reducer fetches. */
export interface FetchRange {
  uri: string;
  offset: number;
  length: number;
  records: number;
  crc32c: number;
  /** The map task that wrote it: merge order, so value order is deterministic. */
  task: number;
}

/** One item of the reduce Distributed Map. */
export interface ReducerItem {
  partition: number;
  /** The reducer's manifest: its non-empty ranges, RANGE_BYTES each, in map task order. */
  manifest: string;
  /** The attempt whose data each map task published (JSON array by task; null: no data). */
  attempts: string;
}

export interface ShuffleResult {
  reducers: ItemLocation;
  partitions: number;
}

/**
 * A reduce manifest is binary, one entry per non-empty range: map task u32, offset f64,
 * length u32, records u32, crc32c u32 (little-endian). At M = 10,000 map tasks and R = 1,000
 * reducers that is at most 240 KB per reducer, where JSON with each data URI was ~1.5 MB.
 */
export const RANGE_BYTES = 24;
/** Map indexes read (and transposed) per block: bounds the shuffle plan's memory at R × this × RANGE_BYTES. */
const INDEX_BLOCK = 256;
const U32 = 2 ** 32;

/** Reads one map task's published index. */
async function readMapIndex(env: TaskEnv, run: RunContext, task: number): Promise<MapIndex> {
  const uri = layout.mapIndex(run, task);
  try {
    return await env.storage.readJson<MapIndex>(uri);
  } catch (e) {
    if (e instanceof ObjectNotFoundError) throw new ObjectNotFoundError(`${uri} (map task ${task} published no index)`);
    throw e;
  }
}

/**
 * Reads every map task's published index (all must exist), keeping what `pick` takes of each:
 * at M = 10,000 the indexes hold 10 million run entries, which no caller keeps.
 */
export async function readMapIndexes<T>(
  env: TaskEnv,
  run: RunContext,
  mapTasks: number,
  pick: (index: MapIndex) => T,
): Promise<T[]> {
  const tasks = Array.from({ length: mapTasks }, (_, i) => i);
  return mapLimit(tasks, DEFAULTS.metadataConcurrency, async (t) => pick(await readMapIndex(env, run, t)));
}

/**
 * Shuffle plan (DESIGN §2): from the M indexes, one manifest per reducer listing the non-empty
 * ranges it must fetch (R manifests, never M×R objects), and the list of reducers for the
 * reduce Distributed Map. Indexes arrive by map task and manifests leave by reducer: the
 * transposition goes through a local file of M × R fixed slots, a block of indexes at a time,
 * so memory stays small whatever M and R.
 */
export async function shufflePlan(env: TaskEnv, run: RunContext, mapTasks: number): Promise<ShuffleResult> {
  const M = mapTasks;
  const R = run.reducers;
  const file = path.join(env.tmpDir, `streaming-${run.jobId}-shuffle-${env.attempt}.bin`);
  const fd = fs.openSync(file, 'w+');
  const storage = env.storage.for(run.scratch);
  try {
    const attempts: (string | null)[] = new Array(M).fill(null);
    for (let t0 = 0; t0 < M; t0 += INDEX_BLOCK) {
      const n = Math.min(INDEX_BLOCK, M - t0);
      const block = Buffer.alloc(R * n * RANGE_BYTES); // by reducer, then map task
      await mapLimit(
        Array.from({ length: n }, (_, i) => t0 + i),
        DEFAULTS.metadataConcurrency,
        async (t) => {
          const ix = await readMapIndex(env, run, t);
          if (!ix.data || !ix.runs) return;
          if (ix.runs.length !== R)
            throw new StreamingError(
              `Map task ${t} wrote ${ix.runs.length} runs for ${R} reducers: its index is not this job's.`,
            );
          attempts[t] = ix.attempt;
          ix.runs.forEach(([offset, length, records, crc32c], r) => {
            if (length === 0) return;
            if (length >= U32 || records >= U32)
              throw new StreamingError(
                `Map task ${t} wrote ${length} bytes (${records} records) for reducer ${r}: over 4 GiB per range. Use more reducers or smaller splits.`,
              );
            const at = (r * n + (t - t0)) * RANGE_BYTES;
            block.writeUInt32LE(t, at);
            block.writeDoubleLE(offset, at + 4);
            block.writeUInt32LE(length, at + 12);
            block.writeUInt32LE(records, at + 16);
            block.writeUInt32LE(crc32c >>> 0, at + 20);
          });
        },
      );
      for (let r = 0; r < R; r++)
        writeFully(fd, block, r * n * RANGE_BYTES, n * RANGE_BYTES, (r * M + t0) * RANGE_BYTES);
    }
    const attemptsUri = layout.mapAttempts(run);
    await storage.write(attemptsUri, JSON.stringify(attempts));
    const column = Buffer.alloc(M * RANGE_BYTES);
    const items: ReducerItem[] = [];
    for (let r = 0; r < R; r++) {
      fs.readSync(fd, column, 0, column.length, r * M * RANGE_BYTES);
      // A slot never filled is all zeros: a length of 0 marks it empty.
      const ranges: Buffer[] = [];
      for (let t = 0; t < M; t++) {
        const at = t * RANGE_BYTES;
        if (column.readUInt32LE(at + 12) > 0) ranges.push(column.subarray(at, at + RANGE_BYTES));
      }
      const uri = layout.reduceManifest(run, r);
      await storage.write(uri, Buffer.concat(ranges));
      items.push({ partition: r, manifest: uri, attempts: attemptsUri });
    }
    await storage.write(layout.reducers(run), JSON.stringify(items));
    return { reducers: toItemLocation(layout.reducers(run)), partitions: R };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

function writeFully(fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) done += fs.writeSync(fd, buf, offset + done, length - done, position + done);
}

/** A reducer's ranges, from its manifest and the map tasks' attempts, in map task order. */
export async function readReduceManifest(
  router: StorageRouter,
  run: RunContext,
  item: ReducerItem,
): Promise<FetchRange[]> {
  const [bin, attempts] = await Promise.all([
    router.for(item.manifest).readAll(item.manifest),
    router.readJson<(string | null)[]>(item.attempts),
  ]);
  if (bin.length % RANGE_BYTES !== 0)
    throw new StreamingError(`${item.manifest} is not a reduce manifest (${bin.length} bytes).`);
  const ranges: FetchRange[] = [];
  for (let at = 0; at < bin.length; at += RANGE_BYTES) {
    const task = bin.readUInt32LE(at);
    const attempt = attempts[task];
    if (!attempt) throw new StreamingError(`${item.manifest} names map task ${task}, which published no data.`);
    ranges.push({
      uri: layout.mapData(run, task, attempt),
      offset: bin.readDoubleLE(at + 4),
      length: bin.readUInt32LE(at + 12),
      records: bin.readUInt32LE(at + 16),
      crc32c: bin.readUInt32LE(at + 20),
      task,
    });
  }
  return ranges;
}
