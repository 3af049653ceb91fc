import fs from 'node:fs';
import path from 'node:path';
import { DEFAULTS } from '../config.js';
import { ChecksumMismatchError } from '../errors.js';
import { crc32c } from '../format/crc32c.js';
import { GroupedMerge } from '../format/merge.js';
import { LineWriter } from '../format/output.js';
import { decodeText } from '../format/records.js';
import { fileRegionReader } from '../format/runs.js';
import type { AnyJob } from '../job.js';
import { layout, type RunContext } from '../spec.js';
import type { IoStats } from '../storage/types.js';
import { isThenable, taskContext, userAwait, userCall } from './context.js';
import { type Counters, ioMeter, mapLimit, type TaskEnv, type TaskTiming } from './env.js';
import { type ReducerItem, readReduceManifest } from './shuffle.js';
import { runStreamProgram, splitKeyValue } from './stream.js';

export interface ReduceResult {
  partition: number;
  attempt: string;
  part: string;
  stats: { inputRecords: number; inputBytes: number; groups: number; outputRecords: number; outputBytes: number };
  counters: Counters;
  timing: TaskTiming;
  /** Storage requests and bytes of the attempt (its result write included, bar this field's own bytes). */
  io?: IoStats;
}

/** Memory for the merge's read buffers, shared by all runs. */
const MERGE_BUFFER_BYTES = 16 << 20;

/**
 * Reduce task (DESIGN §2): fetch this partition's ranges to local disk with bounded
 * concurrency, verifying each checksum; k-way merge them; hand each key's values to `reduce`
 * as a stream; write `part-r-NNNNN` (published atomically); publish the result.
 */
export async function runReduce(env: TaskEnv, job: AnyJob, run: RunContext, item: ReducerItem): Promise<ReduceResult> {
  const start = Date.now();
  const io = ioMeter(env.storage);
  const r = item.partition;
  const ctx = taskContext(run, 'reduce', r, env.attempt, env.storage);
  const manifest = { ranges: await readReduceManifest(env.storage, run, item) };
  const local = path.join(env.tmpDir, `streaming-${run.jobId}-r${r}-${env.attempt}.in`);
  const fd = fs.openSync(local, 'w+');
  const partUri = layout.reducePart(run, r);
  const out = new LineWriter(env.storage.for(partUri).createWriter(partUri), run.outputFormat);
  const stats = { inputRecords: 0, inputBytes: 0, groups: 0, outputRecords: 0, outputBytes: 0 };
  try {
    // Ranges are laid out back to back in the local file in merge (map task) order.
    const ranges = [...manifest.ranges].sort((a, b) => a.task - b.task);
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
    stats.inputBytes = total;

    const perRun = Math.max(4096, Math.min(1 << 20, Math.floor(MERGE_BUFFER_BYTES / Math.max(1, ranges.length))));
    const merge = new GroupedMerge(ranges.map((g, i) => fileRegionReader(fd, offsets[i]!, g.length, perRun)));
    if (job.reducer) {
      // Hadoop Streaming: the program reads key<TAB>value lines sorted by key and prints key<TAB>value lines.
      await runStreamProgram(
        job.reducer,
        async (write) => {
          while (merge.nextGroup()) {
            stats.groups++;
            for (const [text] of merge.rawValues()) {
              const p = write(`${merge.key}\t${text}`);
              if (p) await p;
            }
          }
        },
        (line) => {
          const [k, v] = splitKeyValue(line);
          out.add(k, v);
          return out.full ? out.flush() : undefined;
        },
      );
    } else {
      const emit = (k: unknown, v: unknown) => out.add(k, v);
      const reduce = job.reduce!;
      while (merge.nextGroup()) {
        stats.groups++;
        const key = decodeText(merge.key, merge.keyJson);
        const res = userCall('reduce', r, () => reduce(key, merge.values(), emit, ctx));
        if (isThenable(res)) await userAwait('reduce', r, res);
        if (out.full) await out.flush();
      }
    }
    stats.inputRecords = merge.records;
    stats.outputRecords = out.records;
    stats.outputBytes = await out.end();
  } catch (e) {
    await out.abort();
    throw e;
  } finally {
    fs.closeSync(fd);
    fs.rmSync(local, { force: true });
  }
  const result: ReduceResult = {
    partition: r,
    attempt: env.attempt,
    part: partUri,
    stats,
    counters: ctx.counters,
    timing: { start, end: Date.now(), attempt: env.attempt },
  };
  io(result);
  await env.storage.for(run.scratch).write(layout.reduceResult(run, r), JSON.stringify(result));
  return result;
}
