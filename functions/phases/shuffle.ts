import fs from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../config.js';
import { ObjectNotFoundError, PartitionTooLargeError, StreamingError } from '../errors.js';
import { layout, type RunContext } from '../spec.js';
import type { StorageRouter } from '../storage/index.js';
import { type ItemLocation, toItemLocation } from '../storage/uri.js';
import { mapLimit, type TaskEnv, tmpSpace } from './env.js';
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

/**
 * One item of the reduce Distributed Map: a reduce task, over consecutive partitions. Each
 * partition is one output part; the shuffle plan packs small ones into one task (see
 * `groupPartitions`), so the number of reduce tasks follows the bytes, not `reducers`.
 */
export interface ReducerItem {
  /** The reduce task, from 0. */
  task: number;
  /** Its partitions: `first` to `first + count - 1`. */
  first: number;
  count: number;
  /** The bytes it fetches (its partitions' ranges). */
  bytes: number;
  /** The attempt whose data each map task published (JSON array by task; null: no data). */
  attempts: string;
}

export interface ShuffleResult {
  reducers: ItemLocation;
  partitions: number;
  /** Reduce tasks (items of `reducers`). */
  tasks: number;
}

/**
 * A reduce manifest is binary, one entry per non-empty range: map task u32, offset f64,
 * length u32, records u32, crc32c u32 (little-endian). At M = 10,000 map tasks and R = 1,000
 * reducers that is at most 240 KB per reducer, where JSON with each data URI was ~1.5 MB.
 */
export const RANGE_BYTES = 24;
/** Memory for the block of transposed slots (a block of map indexes by the pass's reducers). */
const BLOCK_BYTES = 32 << 20;
const U32 = 2 ** 32;
/** Of a /tmp, what a task plans to fill (the rest for what else is there). */
const TMP_USE = 0.9;

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
 * Shuffle plan (DESIGN §2): from the M indexes, one manifest per partition listing the
 * non-empty ranges its reducer must fetch (R manifests, never M×R objects), and the reduce
 * tasks for the reduce Distributed Map. Indexes arrive by map task and manifests leave by
 * partition: the transposition goes through a local file of fixed slots, M per partition, a
 * block of indexes at a time, so memory stays small whatever M and R. The file holds as many
 * partitions' columns as this function's /tmp allows (M × R × 24 bytes is 2.4 GB at 10,000 ×
 * 10,000, past a 512 MB /tmp); past that, one pass over the indexes per group of columns.
 */
export async function shufflePlan(env: TaskEnv, run: RunContext, mapTasks: number): Promise<ShuffleResult> {
  const M = mapTasks;
  const R = run.reducers;
  const storage = env.storage.for(run.scratch);
  const column = Math.max(1, M) * RANGE_BYTES;
  const free = Math.floor(tmpSpace(env.tmpDir).free * TMP_USE);
  if (column > free)
    throw new StreamingError(
      `The shuffle plan needs ${column} bytes of /tmp per partition (${M} map tasks) and has ${free} free. Give the control functions more ephemeral storage.`,
    );
  const perPass = Math.min(R, Math.floor(free / column));
  const attempts: (string | null)[] = new Array(M).fill(null);
  const partitionBytes = new Array<number>(R).fill(0);
  for (let r0 = 0; r0 < R; r0 += perPass) {
    const r1 = Math.min(R, r0 + perPass);
    await transpose(env, run, M, r0, r1, r0 === 0 ? { attempts, partitionBytes } : undefined);
    if (r0 > 0) continue;
    // Before any reduce task runs: a partition no reduce task can hold fails the job now.
    checkPartitionsFit(run, partitionBytes);
    await storage.write(layout.mapAttempts(run), JSON.stringify(attempts));
  }
  const items = largestFirst(
    groupPartitions(partitionBytes, reduceTaskBytes(run, partitionBytes), layout.mapAttempts(run)),
  );
  await storage.write(layout.reducers(run), JSON.stringify(items));
  return { reducers: toItemLocation(layout.reducers(run)), partitions: R, tasks: items.length };
}

/**
 * One pass of the transposition: every index read, the slots of partitions `r0` to `r1 - 1`
 * written through a local file, then their manifests. The first pass also takes each map
 * task's attempt and sums every partition's bytes.
 */
async function transpose(
  env: TaskEnv,
  run: RunContext,
  M: number,
  r0: number,
  r1: number,
  first?: { attempts: (string | null)[]; partitionBytes: number[] },
): Promise<void> {
  const R = run.reducers;
  const cols = r1 - r0;
  const file = path.join(env.tmpDir, `streaming-${run.jobId}-shuffle-${env.attempt}-${r0}.bin`);
  const fd = fs.openSync(file, 'w+');
  const storage = env.storage.for(run.scratch);
  const blockTasks = Math.max(1, Math.min(M, Math.floor(BLOCK_BYTES / (cols * RANGE_BYTES))));
  try {
    for (let t0 = 0; t0 < M; t0 += blockTasks) {
      const n = Math.min(blockTasks, M - t0);
      const block = Buffer.alloc(cols * n * RANGE_BYTES); // by partition, then map task
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
          if (first) {
            first.attempts[t] = ix.attempt;
            for (let r = 0; r < R; r++) first.partitionBytes[r]! += ix.runs[r]![1];
          }
          for (let r = r0; r < r1; r++) {
            const [offset, length, records, crc32c] = ix.runs[r]!;
            if (length === 0) continue;
            if (length >= U32 || records >= U32)
              throw new StreamingError(
                `Map task ${t} wrote ${length} bytes (${records} records) for reducer ${r}: over 4 GiB per range. Use more reducers or smaller splits.`,
              );
            const at = ((r - r0) * n + (t - t0)) * RANGE_BYTES;
            block.writeUInt32LE(t, at);
            block.writeDoubleLE(offset, at + 4);
            block.writeUInt32LE(length, at + 12);
            block.writeUInt32LE(records, at + 16);
            block.writeUInt32LE(crc32c >>> 0, at + 20);
          }
        },
      );
      for (let c = 0; c < cols; c++)
        writeFully(fd, block, c * n * RANGE_BYTES, n * RANGE_BYTES, (c * M + t0) * RANGE_BYTES);
    }
    const slots = Buffer.alloc(M * RANGE_BYTES);
    for (let r = r0; r < r1; r++) {
      fs.readSync(fd, slots, 0, slots.length, (r - r0) * M * RANGE_BYTES);
      // A slot never filled is all zeros: a length of 0 marks it empty.
      const ranges: Buffer[] = [];
      for (let t = 0; t < M; t++) {
        const at = t * RANGE_BYTES;
        if (slots.readUInt32LE(at + 12) > 0) ranges.push(slots.subarray(at, at + RANGE_BYTES));
      }
      await storage.write(layout.reduceManifest(run, r), Buffer.concat(ranges));
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

/**
 * The deployment's reduce functions say how much /tmp they have (STREAMING_REDUCE_TMP_BYTES, set
 * by StreamingJob): a reduce task copies a whole partition there, so a partition larger than that
 * can never be reduced. Failing here costs one task; failing in the reducers would waste them all.
 */
function checkPartitionsFit(run: RunContext, partitionBytes: number[]): void {
  const tmp = Number(process.env.STREAMING_REDUCE_TMP_BYTES);
  if (!(tmp > 0)) return;
  const room = Math.floor(tmp * TMP_USE);
  let largest = 0;
  partitionBytes.forEach((b, r) => {
    if (b > partitionBytes[largest]!) largest = r;
  });
  const bytes = partitionBytes[largest] ?? 0;
  if (bytes > room) throw partitionTooLarge(run, largest, bytes, room);
}

/** What a user does about a partition that cannot fit a reduce task's /tmp. */
export function partitionTooLarge(
  run: RunContext,
  partition: number,
  bytes: number,
  room: number,
): PartitionTooLargeError {
  const enough = Math.ceil(((run.reducers * bytes) / room) * 1.25);
  return new PartitionTooLargeError(
    `Partition ${partition} holds ${mib(bytes)} to sort, and a reduce task has ${mib(room)} of /tmp for it. ` +
      `Raise reducers from ${run.reducers} to at least ${enough} (reduce tasks take partitions by size, so more of them cost ` +
      'little), or give the reduce function more ephemeral storage (up to 10 GiB). If one key holds most of it, more ' +
      'reducers will not help: combine its values in the map.',
  );
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * The bytes a reduce task takes: `DEFAULTS.reduceTaskBytes`, or less when a known parallelism
 * (the local engine's workers) would otherwise leave workers idle.
 */
export function reduceTaskBytes(run: Pick<RunContext, 'parallelism'>, partitionBytes: number[]): number {
  if (!run.parallelism) return DEFAULTS.reduceTaskBytes;
  const total = partitionBytes.reduce((a, b) => a + b, 0);
  return Math.min(DEFAULTS.reduceTaskBytes, Math.ceil(total / run.parallelism));
}

/**
 * Reduce tasks from consecutive partitions: a task takes partitions while it holds at most
 * `target` bytes and DEFAULTS.partitionsPerReduceTask partitions (a partition larger than the
 * target is a task of its own). Many small partitions cost a few tasks; large ones keep theirs.
 */
export function groupPartitions(partitionBytes: number[], target: number, attempts: string): ReducerItem[] {
  const items: ReducerItem[] = [];
  let current: ReducerItem | undefined;
  partitionBytes.forEach((bytes, p) => {
    if (
      !current ||
      current.count >= DEFAULTS.partitionsPerReduceTask ||
      (current.bytes + bytes > target && current.count > 0)
    ) {
      current = { task: items.length, first: p, count: 0, bytes: 0, attempts };
      items.push(current);
    }
    current.count++;
    current.bytes += bytes;
  });
  return items;
}

/**
 * Reduce tasks in the order the reduce Map starts them: the largest first (LPT, Graham 1969),
 * so that a large partition is not the last one started, running alone while the other
 * workers idle; within 4/3 of the best schedule. Each keeps its `task` number (its result's name).
 */
export function largestFirst(items: ReducerItem[]): ReducerItem[] {
  return [...items].sort((a, b) => b.bytes - a.bytes || a.task - b.task);
}

function writeFully(fd: number, buf: Buffer, offset: number, length: number, position: number): void {
  let done = 0;
  while (done < length) done += fs.writeSync(fd, buf, offset + done, length - done, position + done);
}

/** A partition's ranges, from its manifest and the map tasks' attempts (`map-attempts.json`), in map task order. */
export async function readReduceManifest(
  router: StorageRouter,
  run: RunContext,
  partition: number,
  attempts: readonly (string | null)[],
): Promise<FetchRange[]> {
  const manifest = layout.reduceManifest(run, partition);
  const bin = await router.for(manifest).readAll(manifest);
  if (bin.length % RANGE_BYTES !== 0)
    throw new StreamingError(`${manifest} is not a reduce manifest (${bin.length} bytes).`);
  const ranges: FetchRange[] = [];
  for (let at = 0; at < bin.length; at += RANGE_BYTES) {
    const task = bin.readUInt32LE(at);
    const attempt = attempts[task];
    if (!attempt) throw new StreamingError(`${manifest} names map task ${task}, which published no data.`);
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
