import fs from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../config.js';
import { ChecksumMismatchError, PartitionTooLargeError, StreamingError } from '../errors.js';
import { crc32c } from '../format/crc32c.js';
import { GroupedMerge } from '../format/merge.js';
import { LineWriter } from '../format/output.js';
import { decodeText, KEY_JSON, RecordReader, VALUE_JSON } from '../format/records.js';
import { fileRegionReader } from '../format/runs.js';
import { type AnyJob, hasPrograms } from '../job.js';
import { DEFAULT_STREAM_CONF } from '../jobconf.js';
import { layout, type RunContext } from '../spec.js';
import type { IoStats, Storage } from '../storage/types.js';
import { sum } from './combine-table.js';
import { isThenable, taskContext, userAwait, userCall } from './context.js';
import {
  type CounterGroups,
  type Counters,
  deadlineGuard,
  ioMeter,
  mapLimit,
  type TaskEnv,
  type TaskTiming,
  taskTiming,
  tmpSpace,
} from './env.js';
import { programInputLine, taskReport } from './map.js';
import { keyOrderOf } from './order.js';
import { openProgramTask } from './programs.js';
import { type FetchRange, partitionTooLarge, type ReducerItem, readReduceManifest } from './shuffle.js';
import { parseJsonRecord, runStreamProgram, splitKeyValue } from './stream.js';

export interface ReduceResult {
  partition: number;
  attempt: string;
  part: string;
  stats: { inputRecords: number; inputBytes: number; groups: number; outputRecords: number; outputBytes: number };
  counters: Counters;
  counterGroups?: CounterGroups;
  status?: string;
  stderr?: string[];
  log?: string;
  timing: TaskTiming;
  /** Storage requests and bytes of the attempt (its result write included, bar this field's own bytes). */
  io?: IoStats;
}

/** Memory for the merge's read buffers, shared by all runs. */
const MERGE_BUFFER_BYTES = 16 << 20;
/** Bytes of a piece of a reducer program's input, handed to its stdin at once. */
const PIPE_PIECE = 64 * 1024;

/** Of a /tmp, what a reduce task may fill with one partition (the rest for what else is there). */
const TMP_USE = 0.9;

/**
 * Reduce task (DESIGN §2), over the consecutive partitions of its item: for each, fetch the
 * partition's ranges to local disk with bounded concurrency, verifying each checksum; k-way
 * merge them; hand each key's values to `reduce` as a stream; write `part-r-NNNNN` (published
 * atomically); publish the partition's result. One partition is on local disk at a time.
 */
export async function runReduce(
  env: TaskEnv,
  job: AnyJob,
  run: RunContext,
  item: ReducerItem,
): Promise<ReduceResult[]> {
  const done: ReduceResult[] = [];
  const overdue = deadlineGuard(env, (elapsed, allowed) => {
    const fetched = done.reduce((n, r) => n + r.stats.inputBytes, 0);
    const facts =
      `It had reduced ${done.length} of its ${item.count} partitions (${mib(fetched)} of ${mib(item.bytes)}) in ` +
      `${(elapsed / 1000).toFixed(1)} s; the function may run ${(allowed / 1000).toFixed(1)} s.`;
    // Time spent on bytes: smaller partitions help. Time spent per partition on tiny ones: a longer timeout does.
    const needed = fetched > 0 ? (elapsed * item.bytes) / fetched : 2 * allowed;
    const remedy =
      item.bytes >= item.count * 2 ** 20
        ? `raise reducers from ${run.reducers} to at least ${Math.ceil(((run.reducers * needed) / allowed) * 1.25)}, or give the reduce function more memory (more CPU)`
        : 'give the reduce function a longer timeout (its partitions are small: the time goes to their requests)';
    return new PartitionTooLargeError(
      `Reduce task ${item.task} (partitions ${item.first}-${item.first + item.count - 1}) took longer than the function may run: ${remedy}. ${facts}`,
    );
  });
  // The map tasks' published attempts, read once for all the task's partitions.
  const attempts = await env.storage.readJson<(string | null)[]>(item.attempts);
  for (let p = item.first; p < item.first + item.count; p++)
    done.push(await reducePartition(env, job, run, p, attempts, overdue));
  return done;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

async function reducePartition(
  env: TaskEnv,
  job: AnyJob,
  run: RunContext,
  r: number,
  attempts: readonly (string | null)[],
  overdue: () => void,
): Promise<ReduceResult> {
  const start = Date.now();
  const io = ioMeter(env.storage);
  const ctx = taskContext(run, 'reduce', r, env);
  const order = keyOrderOf(job, run, r);
  // In map task order: the merge's order, so value order is deterministic.
  const ranges = (await readReduceManifest(env.storage, run, r, attempts)).sort((a, b) => a.task - b.task);
  const needed = ranges.reduce((n, g) => n + g.length, 0);
  // Ranges in local files are read where they are; others (S3) are fetched to local disk first.
  const inPlace = ranges.every((g) => env.storage.for(g.uri).readNow !== undefined);
  if (!inPlace) {
    const space = tmpSpace(env.tmpDir);
    // Before fetching anything: a partition larger than the whole /tmp can never fit (no retry can
    // help); one that only does not fit what is free now may, in a fresh environment.
    if (needed > space.total * TMP_USE) throw partitionTooLarge(run, r, needed, Math.floor(space.total * TMP_USE));
    if (needed > space.free)
      throw new StreamingError(
        `Partition ${r} needs ${mib(needed)} of /tmp and ${mib(space.free)} is free (of ${mib(space.total)}); the task is retried.`,
      );
  }
  const local = inPlace ? undefined : path.join(env.tmpDir, `streaming-${run.jobId}-r${r}-${env.attempt}.in`);
  const fd = local === undefined ? -1 : fs.openSync(local, 'w+');
  const partUri = layout.reducePart(run, r);
  const out = new LineWriter(env.storage.for(partUri).createWriter(partUri), run.outputFormat, run.outputCodec);
  const programs = job.reducer && hasPrograms(job) ? openProgramTask(env, job, run, ctx) : undefined;
  const stats = { inputRecords: 0, inputBytes: needed, groups: 0, outputRecords: 0, outputBytes: 0 };
  let log: string | undefined;
  try {
    const perRun = Math.max(4096, Math.min(1 << 20, Math.floor(MERGE_BUFFER_BYTES / Math.max(1, ranges.length))));
    const readers = inPlace
      ? ranges.map((g) => checkedRangeReader(env.storage.for(g.uri), g, perRun))
      : await fetchRanges(env, ranges, fd, perRun, overdue);
    const merge = new GroupedMerge(readers, order);
    const emit = (k: unknown, v: unknown) => out.add(k, v);
    if (job.setup) await hook('setup', r, () => job.setup!(ctx));
    if (job.reducer) {
      // Hadoop Streaming: the program reads key<TAB>value lines sorted by key and prints key<TAB>value lines.
      const stream = run.stream ?? DEFAULT_STREAM_CONF;
      const command = job.reducer;
      const format = programInputLine(job, stream.reduceInputSeparator);
      await runStreamProgram(
        programs!.options(command),
        job.protocol === 'jsonl'
          ? async (write) => {
              while (merge.nextGroup()) {
                stats.groups++;
                overdue();
                const flags = merge.keyJson ? KEY_JSON : 0;
                for (const [text, json] of merge.rawValues()) {
                  const p = write(format(merge.key, flags | (json ? VALUE_JSON : 0), text));
                  if (p) await p;
                }
              }
            }
          : // `key<separator>value` is the record's bytes as they are: copied, never made a string.
            async (_write, writeBytes) => {
              const sep = Buffer.from(stream.reduceInputSeparator, 'utf8');
              let piece = Buffer.allocUnsafe(PIPE_PIECE);
              let n = 0;
              while (merge.nextGroup()) {
                stats.groups++;
                overdue();
                for (let rec = merge.groupRecord(); rec; rec = merge.groupRecord()) {
                  const room = rec.keyLength + sep.length + rec.valueLength + 1;
                  if (n + room > piece.length) {
                    if (n > 0) {
                      const p = writeBytes(piece.subarray(0, n));
                      if (p) await p;
                    }
                    piece = Buffer.allocUnsafe(Math.max(PIPE_PIECE, room));
                    n = 0;
                  }
                  n = rec.copyKeyTo(piece, n);
                  for (let j = 0; j < sep.length; j++) piece[n++] = sep[j]!;
                  n = rec.copyValueTo(piece, n);
                  piece[n++] = 10;
                  merge.advance();
                }
              }
              if (n > 0) {
                const p = writeBytes(piece.subarray(0, n));
                if (p) await p;
              }
            },
        job.protocol === 'jsonl'
          ? (line) => {
              const rec = parseJsonRecord(command, line);
              out.add(rec.key, rec.value);
              return out.full ? out.flush() : undefined;
            }
          : (line) => {
              const [k, v] = splitKeyValue(line, stream.reduceOutputSeparator, stream.reduceOutputKeyFields);
              out.addText(k, v);
              return out.full ? out.flush() : undefined;
            },
      );
    } else if (job.reduce === sum && run.outputFormat === 'tsv') {
      stats.groups = await sumGroups(merge, out, overdue);
    } else if (job.reduce) {
      const reduce = job.reduce;
      while (merge.nextGroup()) {
        stats.groups++;
        overdue();
        const key = decodeText(merge.key, merge.keyJson);
        const res = userCall('reduce', r, () => reduce(key, merge.values(), emit, ctx));
        if (isThenable(res)) await userAwait('reduce', r, res);
        if (out.full) await out.flush();
      }
    } else {
      // No reduce and no reducer: Hadoop's identity reducer, each record as the map wrote it.
      while (merge.nextGroup()) {
        stats.groups++;
        const key = decodeText(merge.key, merge.keyJson);
        for (const v of merge.values()) {
          if (typeof key === 'string' && typeof v === 'string') out.addText(key, v);
          else out.add(key, v);
        }
        if (out.full) await out.flush();
      }
    }
    if (job.cleanup) await hook('cleanup', r, () => job.cleanup!(ctx, emit));
    stats.inputRecords = merge.records;
    stats.outputRecords = out.records;
    stats.outputBytes = await out.end();
  } catch (e) {
    await out.abort();
    throw e;
  } finally {
    programs?.close();
    log = env.taskLog?.close(ctx.ref);
    if (local !== undefined) {
      fs.closeSync(fd);
      fs.rmSync(local, { force: true });
    }
  }
  const result: ReduceResult = {
    partition: r,
    attempt: env.attempt,
    part: partUri,
    stats,
    counters: ctx.counters,
    ...taskReport(ctx, log),
    timing: taskTiming(env, start),
  };
  io(result);
  await env.storage.for(run.scratch).write(layout.reduceResult(run, r), JSON.stringify(result));
  return result;
}

/**
 * `reduce: sum` into `tsv`: what `emit(key, sum(values))` writes, on the merge's bytes. A text
 * key that needs no quoting (no tab, CR or LF) is copied as it is, and a total that is a safe
 * integer is written as digits; anything else takes `add`, as the general path would. Values
 * are added in the order `sum` adds them. Returns the number of groups.
 */
async function sumGroups(merge: GroupedMerge, out: LineWriter, overdue: () => void): Promise<number> {
  let groups = 0;
  while (merge.nextGroup()) {
    groups++;
    // At a partition's first group too: a call first made at the 1,024th, after the compiler
    // has made the loop fast, sends it back to slow code (V8 keeps no feedback in a function's
    // first moments, so this helps the partitions after a thread's first).
    if ((groups & 1023) === 1) overdue();
    let total = 0;
    for (let rec = merge.groupRecord(); rec; rec = merge.groupRecord()) {
      total += rec.decodedValue() as number;
      merge.advance();
    }
    const key = merge.keyBytes;
    const n = merge.keyLength;
    let plain = !merge.keyJson && Number.isSafeInteger(total);
    for (let i = 0; plain && i < n; i++) {
      const b = key[i]!;
      if (b === 9 || b === 10 || b === 13) plain = false;
    }
    if (plain) out.addCount(key, 0, n, total);
    else out.add(decodeText(merge.key, merge.keyJson), total);
    if (out.full) await out.flush();
  }
  return groups;
}

/**
 * Fetches the ranges to the local file `fd`, back to back, with bounded concurrency, verifying
 * each checksum; returns a reader of each.
 */
async function fetchRanges(
  env: TaskEnv,
  ranges: readonly FetchRange[],
  fd: number,
  perRun: number,
  overdue: () => void,
): Promise<RecordReader[]> {
  const offsets: number[] = [];
  let total = 0;
  for (const g of ranges) {
    offsets.push(total);
    total += g.length;
  }
  await mapLimit(ranges, DEFAULTS.fetchConcurrency, async (g, i) => {
    let pos = offsets[i]!;
    let crc = 0;
    for await (const chunk of env.storage.for(g.uri).read(g.uri, { start: g.offset, end: g.offset + g.length })) {
      overdue();
      crc = crc32c(chunk, crc);
      let off = 0;
      while (off < chunk.length) {
        const n = fs.writeSync(fd, chunk, off, chunk.length - off, pos);
        off += n;
        pos += n;
      }
    }
    if (pos - offsets[i]! !== g.length || crc !== g.crc32c)
      throw new ChecksumMismatchError(g.uri, g.offset, g.crc32c, crc);
  });
  return ranges.map((g, i) => fileRegionReader(fd, offsets[i]!, g.length, perRun));
}

/**
 * A reader of a range in a local file, where it is: copying it to another local file first, as
 * a range on S3 is, was a second copy (~5 ms of each partition of the bench's word count). Its
 * checksum is verified as it is read: a range that differs fails the task at its end, before
 * the part is published.
 */
export function checkedRangeReader(storage: Storage, g: FetchRange, bufferBytes: number): RecordReader {
  const end = g.offset + g.length;
  let pos = g.offset;
  let crc = 0;
  return new RecordReader(
    (target, max) => {
      const n = storage.readNow!(g.uri, { start: pos, end: Math.min(end, pos + max) }, target).length;
      crc = crc32c(target, crc, 0, n);
      pos += n;
      if ((n === 0 || pos === end) && crc !== g.crc32c) throw new ChecksumMismatchError(g.uri, g.offset, g.crc32c, crc);
      return n;
    },
    g.length,
    bufferBytes,
  );
}

/** Runs a setup or cleanup hook; what it throws is the user's error. */
async function hook(name: string, task: number, fn: () => unknown): Promise<void> {
  const r = userCall(name, task, fn);
  if (isThenable(r)) await userAwait(name, task, r);
}
