import { partitionOf } from '../format/hash.js';
import { encodeText, KEY_JSON, sortUtf8, VALUE_JSON } from '../format/records.js';
import type { RunWriter } from '../format/runs.js';
import type { AnyJob, Emit, TaskContext } from '../job.js';
import { userError } from './context.js';
import { type KeyOrder, sortByOrder } from './order.js';

/**
 * Sum of numbers: `sum(values)`. It is also a combine function as it is, `combine: sum`
 * (called as `sum(key, values)` it sums the values), and then the map-side combine table keeps
 * a number per key and adds each emitted number to it, with no function call per record. And it
 * is a reduce as it is, `reduce: sum` (called with an `emit`, it emits the key with the sum, as
 * Hadoop's LongSumReducer does), which the reduce phase runs on the merged bytes.
 */
export function sum(values: Iterable<number>): number;
export function sum(key: unknown, values: Iterable<number>): number;
export function sum(key: unknown, values: Iterable<number>, emit: Emit<unknown, number>, ctx?: TaskContext): void;
export function sum(first: unknown, second?: unknown, emit?: Emit<unknown, number>): number | undefined {
  const values = (isIterable(second) ? second : first) as Iterable<number>;
  let s = 0;
  for (const v of values) s += v;
  // Only a function is an emit: `rows.map(sum)` passes an index and the array.
  if (typeof emit !== 'function') return s;
  emit(first, s);
  return undefined;
}

/**
 * The lists joined into one new list, in order: `concat(lists)`. Like `sum`, it is also a
 * combine function as it is, `combine: concat` (posting lists, grouped values), and then the
 * map-side combine table keeps one list per key that it owns and appends each emitted list to
 * it in place, with no function call or new list per record; and a reduce, `reduce: concat`
 * (emitting the key with the joined list).
 */
export function concat<T>(lists: Iterable<T[]>): T[];
export function concat<T>(key: unknown, lists: Iterable<T[]>): T[];
export function concat<T>(key: unknown, lists: Iterable<T[]>, emit: Emit<unknown, T[]>, ctx?: TaskContext): void;
export function concat(first: unknown, second?: unknown, emit?: Emit<unknown, unknown[]>): unknown[] | undefined {
  const lists = (isIterable(second) ? second : first) as Iterable<unknown[]>;
  const out: unknown[] = [];
  for (const l of lists) {
    if (!Array.isArray(l))
      throw new TypeError(`concat joins arrays, and was given ${typeof l}: emit arrays as values.`);
    for (const v of l) out.push(v);
  }
  if (typeof emit !== 'function') return out;
  emit(first, out);
  return undefined;
}

function isIterable(x: unknown): x is Iterable<unknown> {
  return (
    x !== null &&
    x !== undefined &&
    typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function' &&
    typeof x !== 'string'
  );
}

/** What a map task buffers with a combiner: combined records by key, written as sorted runs. */
export interface MapSideTable {
  /** Distinct keys held. */
  readonly size: number;
  /** Estimated heap bytes held, which the sort buffer limit bounds. */
  readonly bytes: number;
  /** Records folded in since the task began. */
  readonly records: number;
  /**
   * Writes the table as R runs sorted by key (one per partition) through `out`, and empties it;
   * partitioned and sorted by the job's own order when it has one.
   */
  write(out: RunWriter, R: number, order?: KeyOrder): Promise<void>;
}

/**
 * What folding a value into an accumulator adds to the heap, roughly: combining strings or
 * arrays (posting lists) makes the accumulator grow by about the value's contents.
 */
function valueBytes(value: unknown): number {
  if (typeof value === 'string') return 2 * value.length;
  if (Array.isArray(value)) return 8 * value.length;
  return 0;
}

/** A key's combined value so far. */
interface Slot {
  /** The first emitted key of this encoding, as emitted (what `combine` is given). */
  key: unknown;
  json: boolean;
  acc: unknown;
}

/**
 * The map-side combine table (in-mapper combining): one accumulator per distinct encoded key,
 * into which each emitted value is folded by `combine(key, [acc, value])` with one reused
 * pair (combine is associative, so this equals folding all values at once), so nothing is
 * allocated per record and one record per distinct key is sorted.
 *
 * The index is a `Map`: for keys that are new strings each time (tokens sliced from text) it
 * is faster than a null-prototype object, whose lookups must first find the key among V8's
 * internalized strings; keys are also kept in insertion order beside it.
 *
 * With the SDK's `sum` as the combine function, numbers are added in place (`acc + value`, the
 * same result as `sum([acc, value])`); a value or accumulator that is not a number goes
 * through `sum` itself. With the SDK's `concat`, each emitted list is appended to the key's list
 * in place (the same result as `concat([acc, value])`).
 */
export class CombineTable implements MapSideTable {
  bytes = 0;
  records = 0;
  private index = new Map<string, Slot>();
  private keys: string[] = [];
  private readonly pair: unknown[] = [undefined, undefined];
  private readonly combine: NonNullable<AnyJob['combine']>;

  constructor(
    job: AnyJob,
    private readonly task: number,
  ) {
    if (!job.combine) throw new Error('CombineTable needs a job with combine');
    this.combine = job.combine === sum || job.combine === concat ? job.combine : job.combine.bind(job);
    this.add = job.combine === sum ? this.addNumbers() : job.combine === concat ? this.addLists() : this.addAny();
  }

  /**
   * Folds one emitted record into the table. Set in the constructor to the variant for this
   * combine function, so the hot path stays monomorphic.
   */
  readonly add: (key: unknown, value: unknown) => void;

  /** Distinct keys held. */
  get size(): number {
    return this.keys.length;
  }

  private insert(kt: string, key: unknown, value: unknown): void {
    this.index.set(kt, { key, json: typeof key !== 'string', acc: value });
    this.keys.push(kt);
    this.bytes += 2 * kt.length + 120 + valueBytes(value);
  }

  private fold(slot: Slot, value: unknown): void {
    const pair = this.pair;
    pair[0] = slot.acc;
    pair[1] = value;
    try {
      slot.acc = this.combine(slot.key, pair);
    } catch (e) {
      throw userError('combine', this.task, e);
    }
  }

  private addAny(): (key: unknown, value: unknown) => void {
    return (key, value) => {
      this.records++;
      const kt = typeof key === 'string' ? key : encodeText(key);
      const slot = this.index.get(kt);
      if (slot === undefined) return this.insert(kt, key, value);
      this.fold(slot, value);
      this.bytes += valueBytes(value);
    };
  }

  private addNumbers(): (key: unknown, value: unknown) => void {
    return (key, value) => {
      this.records++;
      const kt = typeof key === 'string' ? key : encodeText(key);
      const slot = this.index.get(kt);
      if (slot === undefined) return this.insert(kt, key, value);
      const acc = slot.acc;
      if (typeof acc === 'number' && typeof value === 'number') {
        slot.acc = acc + value;
        return;
      }
      this.fold(slot, value);
      this.bytes += valueBytes(value);
    };
  }

  private addLists(): (key: unknown, value: unknown) => void {
    return (key, value) => {
      this.records++;
      const kt = typeof key === 'string' ? key : encodeText(key);
      const slot = this.index.get(kt);
      // The table's own copy of the first list: appending to it must not change what was emitted.
      if (slot === undefined) return this.insert(kt, key, Array.isArray(value) ? value.slice() : value);
      const acc = slot.acc;
      if (Array.isArray(acc) && Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) acc.push(value[i]);
        this.bytes += 8 * value.length;
        return;
      }
      this.fold(slot, value); // concat itself says what is wrong
    };
  }

  async write(out: RunWriter, R: number, order?: KeyOrder): Promise<void> {
    if (order) return this.writeInOrder(out, R, order);
    const index = this.index;
    const parts: string[][] = Array.from({ length: R }, () => []);
    if (R === 1) parts[0] = this.keys;
    else for (const kt of this.keys) parts[partitionOf(kt, R)]!.push(kt);
    this.index = new Map();
    this.keys = [];
    this.bytes = 0;
    for (const part of parts) {
      sortUtf8(part);
      for (const kt of part) {
        const slot = index.get(kt)!;
        const v = slot.acc;
        const f = (slot.json ? KEY_JSON : 0) | (typeof v === 'string' ? 0 : VALUE_JSON);
        const p = out.append(f, kt, encodeText(v));
        if (p) await p;
      }
      out.endRun();
    }
  }

  private async writeInOrder(out: RunWriter, R: number, order: KeyOrder): Promise<void> {
    const parts: { k: string; f: number; v: string }[][] = Array.from({ length: R }, () => []);
    for (const kt of this.keys) {
      const slot = this.index.get(kt)!;
      const f = (slot.json ? KEY_JSON : 0) | (typeof slot.acc === 'string' ? 0 : VALUE_JSON);
      parts[order.partition(kt, f, R)]!.push({ k: kt, f, v: encodeText(slot.acc) });
    }
    this.index = new Map();
    this.keys = [];
    this.bytes = 0;
    for (const part of parts) {
      for (const e of sortByOrder(part, order)) {
        const p = out.append(e.f, e.k, e.v);
        if (p) await p;
      }
      out.endRun();
    }
  }
}
