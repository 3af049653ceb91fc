import fs from 'node:fs';
import path from 'node:path';
import { SplitTooLargeError } from '../errors.js';
import { partitionOf } from '../format/hash.js';
import { readRecords } from '../format/input.js';
import { linesAsWritten, readLineBlocks, readLines } from '../format/lines.js';
import { GroupedMerge } from '../format/merge.js';
import { LineWriter } from '../format/output.js';
import { decodeText, encodeText, KEY_JSON, sortByUtf8, VALUE_JSON } from '../format/records.js';
import { fileRegionReader, fileSink, type RunEntry, RunWriter } from '../format/runs.js';
import { type AnyJob, hasPrograms } from '../job.js';
import { DEFAULT_STREAM_CONF } from '../jobconf.js';
import { layout, type RunContext } from '../spec.js';
import type { IoStats } from '../storage/types.js';
import { CombineTable, type MapSideTable } from './combine-table.js';
import { isThenable, type MutableContext, taskContext, userAwait, userCall, userError } from './context.js';
import {
  type CounterGroups,
  type Counters,
  deadlineGuard,
  ioMeter,
  type TaskEnv,
  type TaskTiming,
  taskTiming,
} from './env.js';
import { LineTable } from './line-table.js';
import { type KeyOrder, keyOrderOf, sortByOrder } from './order.js';
import { openProgramTask, type ProgramTask } from './programs.js';
import type { MapSplit } from './split-items.js';
import { type OutputBytes, type OutputLines, parseJsonRecord, runStreamProgram, splitKeyValue } from './stream.js';
import { countsWordsOnBytes, initialSlots, WordCountTable } from './word-count.js';

/** What a map task publishes (its index object, written last). */
export interface MapIndex {
  task: number;
  attempt: string;
  /** The data object holding one sorted run per partition (absent for map-only jobs). */
  data?: string;
  runs?: RunEntry[];
  /** Map-only jobs: the part written to the output. */
  part?: { uri: string; records: number; bytes: number };
  stats: MapStats;
  counters: Counters;
  /** Counters by group (stream programs' `reporter:counter:…` lines, `ctx.incrementCounter`). */
  counterGroups?: CounterGroups;
  /** The task's last status (`reporter:status:…`, `ctx.status`). */
  status?: string;
  /** The last lines its stream programs wrote to stderr (reporter lines aside). */
  stderr?: string[];
  /** Where all of that stderr is kept (locally: a file per attempt), if anywhere. */
  log?: string;
  timing: TaskTiming;
  /** Storage requests and bytes of the attempt (its index write included, bar this field's own bytes). */
  io?: IoStats;
}

export interface MapStats {
  inputBytes: number;
  inputRecords: number;
  /** Records emitted by `map`. */
  outputRecords: number;
  /** Records written for the shuffle, after combining. */
  shuffleRecords: number;
  shuffleBytes: number;
  spills: number;
}

export function emptyMapStats(): MapStats {
  return { inputBytes: 0, inputRecords: 0, outputRecords: 0, shuffleRecords: 0, shuffleBytes: 0, spills: 0 };
}

/** Where `map` emits to. */
interface Collector {
  readonly emit: (key: unknown, value: unknown) => void;
  /** A stream program's printed key and value (text protocol): written as printed, never JSON-quoted. */
  readonly emitText: (key: string, value: string) => void;
  /** Records emitted so far. */
  readonly records: number;
  /** True when the collector wants `spill()` before more records (buffer full). */
  readonly full: boolean;
  /** Writes the buffer out: a sorted spill to local disk, or (map-only) a flush to the output part. */
  spill(): Promise<void>;
  finish(stats: MapStats): Promise<Partial<MapIndex>>;
  abort(): Promise<void>;
}

/** Map task (DESIGN §2): read the split, run `map`, partition, sort, combine, spill, merge, publish. */
export async function runMap(env: TaskEnv, job: AnyJob, run: RunContext, split: MapSplit): Promise<MapIndex> {
  const start = Date.now();
  const io = ioMeter(env.storage);
  const task = split.index;
  const ctx = taskContext(run, 'map', task, env);
  const stats = emptyMapStats();
  const order = keyOrderOf(job, run, task);
  const stream = run.stream ?? DEFAULT_STREAM_CONF;
  const words =
    order === undefined && !job.setup && !job.cleanup && countsWordsOnBytes(job, run.inputFormat, run.reducers)
      ? new WordCountTable(undefined, initialSlots(run.sortBufferBytes))
      : undefined;
  const programs = hasPrograms(job) ? openProgramTask(env, job, run, ctx) : undefined;
  const lines = takesLinesAsBytes(job, run, order)
    ? new LineTable(stream.mapOutputSeparator, stream.mapOutputKeyFields)
    : undefined;
  let collector: Collector | undefined;
  // Bytes read so far, roughly (per record): how far the split got, for the advice when it runs out of time.
  let reached = 0;
  const overdue = deadlineGuard(env, (elapsed, allowed) => splitTooLarge(split, reached, elapsed, allowed));
  /** Per record read: stops the task with advice once it nears its function's timeout. */
  const tick = (bytes: number) => {
    overdue();
    reached += bytes;
  };
  let extra: Partial<MapIndex>;
  let log: string | undefined;
  try {
    collector =
      run.reducers === 0
        ? new DirectOutput(env, run, task)
        : new ShuffleOutput(env, job, run, task, words ?? lines, order, programs);
    const out = collector;
    const emit = out.emit;
    const read = { strictUtf8: run.strictUtf8 === true };
    if (job.setup) await userHook('setup', task, () => job.setup!(ctx));
    if (words) {
      // `countWords` + `sum`: counted on the input's bytes (functions/phases/word-count.ts),
      // the words copied into the table.
      const copied = { ...read, sinkCopies: true };
      for (const chunk of split.chunks) {
        ctx.inputUri = chunk.uri;
        stats.inputBytes += await readLineBlocks(env.storage.for(chunk.uri), chunk, copied, (block) => {
          tick(block.length);
          stats.inputRecords += words.countBlock(block);
          return out.full ? out.spill() : undefined;
        });
      }
    } else if (job.mapper) {
      const output: OutputLines | OutputBytes = lines
        ? {
            chunk: (buf) => {
              lines.chunk(buf);
              return out.full ? out.spill() : undefined;
            },
            end: () => {
              lines.end();
              return out.full ? out.spill() : undefined;
            },
          }
        : programLineReader(job, job.mapper, stream.mapOutputSeparator, stream.mapOutputKeyFields, out);
      await runMapper(env, job, run, split, ctx, programs!, output, stats, tick);
    } else {
      const map = job.map!;
      for (const chunk of split.chunks) {
        ctx.inputUri = chunk.uri;
        stats.inputBytes += await readRecords(env.storage.for(chunk.uri), chunk, run.inputFormat, read, (record) => {
          tick(typeof record === 'string' ? record.length + 1 : 64);
          stats.inputRecords++;
          let r: unknown;
          try {
            r = map(record as never, emit, ctx);
          } catch (e) {
            throw userError('map', task, e);
          }
          if (isThenable(r)) return userAwait('map', task, r).then(() => (out.full ? out.spill() : undefined));
          return out.full ? out.spill() : undefined;
        });
      }
    }
    if (job.cleanup) await userHook('cleanup', task, () => job.cleanup!(ctx, emit));
    stats.outputRecords = out.records;
    extra = await out.finish(stats);
  } catch (e) {
    await collector?.abort();
    throw e;
  } finally {
    programs?.close();
    log = env.taskLog?.close(ctx.ref);
  }
  const index: MapIndex = {
    task,
    attempt: env.attempt,
    ...extra,
    stats,
    counters: ctx.counters,
    ...taskReport(ctx, log),
    timing: taskTiming(env, start),
  };
  // Publishing the index is what makes the attempt's output visible to the shuffle plan.
  io(index);
  await env.storage.for(run.scratch).write(layout.mapIndex(run, task), JSON.stringify(index));
  return index;
}

/**
 * Runs the mapper program over the split: one run per input object in it, so each run sees
 * its own `mapreduce_map_input_file`, as each Hadoop map task does.
 */
async function runMapper(
  env: TaskEnv,
  job: AnyJob,
  run: RunContext,
  split: MapSplit,
  ctx: MutableContext,
  programs: ProgramTask,
  output: OutputLines | OutputBytes,
  stats: MapStats,
  tick: (bytes: number) => void,
): Promise<void> {
  const stream = run.stream ?? DEFAULT_STREAM_CONF;
  const command = job.mapper!;
  const lineOffsets = run.inputFormat === 'text' && !stream.mapInputIgnoreKey;
  const read = { strictUtf8: run.strictUtf8 === true };
  for (const chunk of split.chunks) {
    ctx.inputUri = chunk.uri;
    await runStreamProgram(
      programs.options(command, chunk),
      async (write, writeBytes) => {
        const storage = env.storage.for(chunk.uri);
        if (run.inputFormat === 'text' && !lineOffsets) {
          // Lines pass as bytes, a block at a time: no string per line.
          stats.inputBytes += await readLineBlocks(storage, chunk, read, (block) => {
            tick(block.length);
            const { bytes, lines } = linesAsWritten(block);
            stats.inputRecords += lines;
            return writeBytes(bytes);
          });
          return;
        }
        stats.inputBytes += lineOffsets
          ? await readLines(
              storage,
              chunk,
              (line, offset) => {
                tick(line.length + 1);
                stats.inputRecords++;
                return write(`${offset}${stream.mapInputSeparator}${line}`);
              },
              read,
            )
          : await readRecords(storage, chunk, run.inputFormat, read, (record) => {
              stats.inputRecords++;
              const text = typeof record === 'string' ? record : JSON.stringify(record);
              tick(text.length + 1);
              return write(text);
            });
      },
      output,
    );
  }
}

/**
 * True when a mapper program's output can be held as bytes (LineTable): text lines keyed by
 * Hadoop's rule, in the engine's own order, shuffled, with nothing else emitting records.
 */
function takesLinesAsBytes(job: AnyJob, run: RunContext, order: KeyOrder | undefined): boolean {
  return (
    job.mapper !== undefined &&
    job.protocol !== 'jsonl' &&
    order === undefined &&
    run.reducers > 0 &&
    !job.combine &&
    !job.cleanup
  );
}

/**
 * What becomes of each line a mapper or combiner program prints: with the `text` protocol its
 * key is the first `keyFields` fields (Hadoop's rule); with `jsonl` it is a `{key, value}` object.
 */
function programLineReader(
  job: AnyJob,
  command: string,
  separator: string,
  keyFields: number,
  out: Pick<Collector, 'emit' | 'emitText' | 'full' | 'spill'>,
): (line: string) => Promise<void> | undefined {
  if (job.protocol === 'jsonl')
    return (line) => {
      const r = parseJsonRecord(command, line);
      out.emit(r.key, r.value);
      return out.full ? out.spill() : undefined;
    };
  return (line) => {
    const [k, v] = splitKeyValue(line, separator, keyFields);
    out.emitText(k, v);
    return out.full ? out.spill() : undefined;
  };
}

/** Runs a setup or cleanup hook; what it throws is the user's error. */
async function userHook(name: string, task: number, fn: () => unknown): Promise<void> {
  const r = userCall(name, task, fn);
  if (isThenable(r)) await userAwait(name, task, r);
}

/** What a task attempt tells the manifest besides its data: grouped counters, status, stderr tail, log. */
export function taskReport(
  ctx: MutableContext,
  log: string | undefined,
): Pick<MapIndex, 'counterGroups' | 'status' | 'stderr' | 'log'> {
  return {
    ...(Object.keys(ctx.counterGroups).length > 0 ? { counterGroups: ctx.counterGroups } : {}),
    ...(ctx.lastStatus !== undefined ? { status: ctx.lastStatus } : {}),
    ...(ctx.stderrTail.length > 0 ? { stderr: ctx.stderrTail } : {}),
    ...(log !== undefined ? { log } : {}),
  };
}

/**
 * The advice when a split ran out of its function's time: how far it got, and the split size
 * that would fit at that pace (with a fifth to spare).
 */
function splitTooLarge(split: MapSplit, reached: number, elapsed: number, allowed: number): SplitTooLargeError {
  const MiB = 2 ** 20;
  const fits = reached > 0 ? Math.max(1, Math.floor(((reached / elapsed) * allowed * 0.8) / MiB)) : undefined;
  return new SplitTooLargeError(
    `Map task ${split.index}: the split took longer than the function may run: lower splitSize. It read about ` +
      `${(reached / MiB).toFixed(1)} MiB of its ${(split.bytes / MiB).toFixed(1)} MiB in ${(elapsed / 1000).toFixed(1)} s; ` +
      `the function may run ${(allowed / 1000).toFixed(1)} s. ` +
      (fits
        ? `At that pace a split of about ${fits} MiB fits: set splitSize to ${fits}MiB or less `
        : 'Set a smaller splitSize ') +
      '(streaming start --split-size, or the StreamingJob splitSize prop), or give the map function more memory (more CPU).',
  );
}

/** Map-only jobs: records go straight to the task's output part. */
class DirectOutput implements Collector {
  private readonly out: LineWriter;
  private readonly uri: string;

  constructor(env: TaskEnv, run: RunContext, task: number) {
    this.uri = layout.mapPart(run, task);
    this.out = new LineWriter(env.storage.for(this.uri).createWriter(this.uri), run.outputFormat, run.outputCodec);
  }

  readonly emit = (key: unknown, value: unknown): void => this.out.add(key, value);

  readonly emitText = (key: string, value: string): void => this.out.addText(key, value);

  get records(): number {
    return this.out.records;
  }

  get full(): boolean {
    return this.out.full;
  }

  spill(): Promise<void> {
    return this.out.flush();
  }

  async finish(): Promise<Partial<MapIndex>> {
    const bytes = await this.out.end();
    return { part: { uri: this.uri, records: this.out.records, bytes } };
  }

  abort(): Promise<void> {
    return this.out.abort();
  }
}

/** A buffered record of a job without a combiner. */
interface Entry {
  k: string;
  f: number;
  v: string;
}

/**
 * Partitions, sorts and (with a combiner) aggregates map output in a bounded buffer, spills
 * sorted runs to local disk when full, and merges everything into one data object with one
 * sorted run per partition.
 *
 * With a combiner, output is aggregated in a hash table (in-mapper combining): each value is
 * folded into its key's accumulator by `combine(key, [acc, value])`, so word count sorts one
 * record per distinct word, not one per token. A task that fills its table itself (the word
 * count on bytes) passes it in and does not emit.
 */
class ShuffleOutput implements Collector {
  private readonly table: MapSideTable | undefined;
  private entries: Entry[][];
  private bytes = 0;
  private sorted = 0;
  private readonly limit: number;
  private readonly spills: { file: string; fd: number; runs: RunEntry[] }[] = [];
  private readonly combine: AnyJob['combine'];
  private readonly R: number;

  constructor(
    private readonly env: TaskEnv,
    private readonly job: AnyJob,
    private readonly run: RunContext,
    private readonly task: number,
    table?: MapSideTable,
    /** The job's own partition and sort order, if it has one. */
    private readonly order?: KeyOrder,
    /** Where the combiner program runs, if the job has one. */
    private readonly programs?: ProgramTask,
  ) {
    this.R = run.reducers;
    this.limit = run.sortBufferBytes;
    this.combine = job.combine?.bind(job);
    this.entries = Array.from({ length: this.R }, () => []);
    if (table) {
      this.table = table;
      this.emit = () => {
        throw new Error('This map task holds its records as bytes and takes no emitted records');
      };
    } else if (job.combine) {
      const combining = new CombineTable(job, task);
      this.table = combining;
      this.emit = combining.add;
    } else {
      this.emit = this.emitSorting();
    }
  }

  /** Set in the constructor to the variant for this job: the hot path stays monomorphic. */
  readonly emit: (key: unknown, value: unknown) => void;

  readonly emitText = (key: string, value: string): void => this.emit(key, value);

  get records(): number {
    return this.table ? this.table.records : this.sorted;
  }

  private emitSorting(): (key: unknown, value: unknown) => void {
    const R = this.R;
    const order = this.order;
    return (key, value) => {
      this.sorted++;
      const kt = typeof key === 'string' ? key : encodeText(key);
      const vt = typeof value === 'string' ? value : encodeText(value);
      const f = (typeof key === 'string' ? 0 : KEY_JSON) | (typeof value === 'string' ? 0 : VALUE_JSON);
      this.entries[order ? order.partition(kt, f, R) : partitionOf(kt, R)]!.push({ k: kt, f, v: vt });
      this.bytes += 2 * (kt.length + vt.length) + 80;
    };
  }

  get full(): boolean {
    return (this.table ? this.table.bytes : this.bytes) >= this.limit;
  }

  private sort(part: Entry[]): Entry[] {
    return this.order ? sortByOrder(part, this.order) : sortByUtf8(part, (e) => e.k);
  }

  /** Writes the buffered records, sorted, as R runs through `out`. */
  private async writeBuffer(out: RunWriter): Promise<void> {
    if (this.table instanceof LineTable && this.job.combiner) {
      await this.combineLines(this.job.combiner, this.table, out);
    } else if (this.table) {
      await this.table.write(out, this.R, this.order);
    } else {
      let parts = this.entries;
      this.entries = Array.from({ length: this.R }, () => []);
      if (this.job.combiner) parts = await this.runCombiner(this.job.combiner, parts);
      for (const part of parts) {
        this.sort(part);
        for (const e of part) {
          const p = out.append(e.f, e.k, e.v);
          if (p) await p;
        }
        out.endRun();
      }
    }
    this.bytes = 0;
  }

  /**
   * Pipes the buffer, sorted, through the combiner program (one run for all partitions) and
   * buffers what it prints, partitioned again: a program may print any keys. It reads what
   * the reducer reads and prints what the mapper prints.
   */
  private async runCombiner(command: string, parts: Entry[][]): Promise<Entry[][]> {
    const out: Entry[][] = Array.from({ length: this.R }, () => []);
    const stream = this.run.stream ?? DEFAULT_STREAM_CONF;
    const collect = (key: unknown, value: unknown) => {
      const kt = typeof key === 'string' ? key : encodeText(key);
      const vt = typeof value === 'string' ? value : encodeText(value);
      const f = (typeof key === 'string' ? 0 : KEY_JSON) | (typeof value === 'string' ? 0 : VALUE_JSON);
      out[this.order ? this.order.partition(kt, f, this.R) : partitionOf(kt, this.R)]!.push({ k: kt, f, v: vt });
    };
    const format = programInputLine(this.job, stream.reduceInputSeparator);
    await runStreamProgram(
      this.programs!.options(command),
      async (write) => {
        for (const part of parts) {
          this.sort(part);
          for (const e of part) {
            const p = write(format(e.k, e.f, e.v));
            if (p) await p;
          }
        }
      },
      programLineReader(this.job, command, stream.mapOutputSeparator, stream.mapOutputKeyFields, {
        emit: collect,
        emitText: collect,
        full: false,
        spill: () => Promise.resolve(),
      }),
    );
    return out;
  }

  /**
   * Pipes the mapper's lines, sorted, through the combiner program (one run for all
   * partitions) and writes what it prints, partitioned and sorted again: a program may print
   * any keys. Bytes all the way: the lines as the mapper printed them, to the combiner's stdin.
   */
  private async combineLines(command: string, lines: LineTable, out: RunWriter): Promise<void> {
    const stream = this.run.stream ?? DEFAULT_STREAM_CONF;
    const combined = new LineTable(stream.mapOutputSeparator, stream.mapOutputKeyFields);
    await runStreamProgram(
      this.programs!.options(command),
      (_write, writeBytes) => lines.feed(stream.reduceInputSeparator, this.R, writeBytes),
      combined,
    );
    await combined.write(out, this.R);
  }

  async spill(): Promise<void> {
    const file = path.join(
      this.env.tmpDir,
      `streaming-${this.run.jobId}-m${this.task}-${this.env.attempt}-${this.spills.length}.spill`,
    );
    const { fd, sink } = fileSink(file);
    this.spills.push({ file, fd, runs: [] });
    const w = new RunWriter(sink);
    await this.writeBuffer(w);
    await w.finish();
    this.spills[this.spills.length - 1]!.runs = w.runs;
  }

  async finish(stats: MapStats): Promise<Partial<MapIndex>> {
    const uri = layout.mapData(this.run, this.task, this.env.attempt);
    const writer = this.env.storage.for(uri).createWriter(uri);
    const out = new RunWriter((chunk) => writer.write(chunk));
    try {
      if (this.spills.length === 0) {
        await this.writeBuffer(out);
      } else {
        if (this.bytes > 0 || (this.table?.size ?? 0) > 0) await this.spill();
        await this.mergeSpills(out);
      }
      stats.shuffleBytes = await out.finish();
      await writer.end();
    } catch (e) {
      await writer.abort();
      throw e;
    } finally {
      this.cleanup();
    }
    stats.spills = this.spills.length;
    stats.shuffleRecords = out.records;
    return { data: uri, runs: out.runs };
  }

  private async mergeSpills(out: RunWriter): Promise<void> {
    const perRun = Math.max(4096, Math.min(1 << 20, Math.floor(this.limit / (2 * this.spills.length))));
    for (let r = 0; r < this.R; r++) {
      const readers = this.spills.map((s) => fileRegionReader(s.fd, s.runs[r]![0], s.runs[r]![1], perRun));
      const merge = new GroupedMerge(readers, this.order);
      while (merge.nextGroup()) {
        const flagsKey = merge.keyJson ? KEY_JSON : 0;
        if (this.combine) {
          const key = decodeText(merge.key, merge.keyJson);
          const combine = this.combine;
          const v = userCall('combine', this.task, () => combine(key, merge.values()));
          const p = out.append(flagsKey | (typeof v === 'string' ? 0 : VALUE_JSON), merge.key, encodeText(v));
          if (p) await p;
        } else {
          for (const [text, json] of merge.rawValues()) {
            const p = out.append(flagsKey | (json ? VALUE_JSON : 0), merge.key, text);
            if (p) await p;
          }
        }
      }
      out.endRun();
    }
  }

  private cleanup(): void {
    for (const s of this.spills) {
      try {
        fs.closeSync(s.fd);
      } catch {}
      fs.rmSync(s.file, { force: true });
    }
  }

  async abort(): Promise<void> {
    this.cleanup();
  }
}

/**
 * A record as a combiner or reducer program reads it: with the `text` protocol
 * `key<separator>value` (Hadoop Streaming's), with `jsonl` a `{"key": …, "value": …}` object.
 */
export function programInputLine(job: AnyJob, separator: string): (k: string, flags: number, v: string) => string {
  if (job.protocol === 'jsonl')
    return (k, f, v) =>
      `{"key":${f & KEY_JSON ? k : JSON.stringify(k)},"value":${f & VALUE_JSON ? v : JSON.stringify(v)}}`;
  return (k, _f, v) => `${k}${separator}${v}`;
}
