import { compareUtf8, KEY_JSON, type RecordReader, VALUE_JSON } from './records.js';

/**
 * K-way merge of sorted runs, grouped by key. Equal keys from different runs come out in run
 * order, so a group's values are in a deterministic order (map task, then emission order).
 * Values are pulled one at a time: a group can be larger than memory.
 */
export class GroupedMerge {
  private readonly heap: number[] = [];
  /** The current group's key text and whether it is JSON. */
  key = '';
  keyJson = false;
  private groupOpen = false;
  /** Records read so far. */
  records = 0;

  constructor(private readonly runs: RecordReader[]) {
    runs.forEach((r, i) => {
      if (r.next()) this.push(i);
    });
  }

  private less(a: number, b: number): boolean {
    const c = compareUtf8(this.runs[a]!.key, this.runs[b]!.key);
    return c < 0 || (c === 0 && a < b);
  }

  private push(i: number): void {
    const h = this.heap;
    h.push(i);
    let j = h.length - 1;
    while (j > 0) {
      const p = (j - 1) >> 1;
      if (!this.less(h[j]!, h[p]!)) break;
      [h[j], h[p]] = [h[p]!, h[j]!];
      j = p;
    }
  }

  private siftDown(): void {
    const h = this.heap;
    let j = 0;
    for (;;) {
      const l = 2 * j + 1;
      if (l >= h.length) return;
      const r = l + 1;
      const m = r < h.length && this.less(h[r]!, h[l]!) ? r : l;
      if (!this.less(h[m]!, h[j]!)) return;
      [h[j], h[m]] = [h[m]!, h[j]!];
      j = m;
    }
  }

  /** Moves the top run past its current record. */
  private advanceTop(): void {
    const top = this.heap[0]!;
    this.records++;
    if (this.runs[top]!.next()) {
      this.siftDown();
    } else {
      const last = this.heap.pop()!;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.siftDown();
      }
    }
  }

  private topHasKey(): boolean {
    return this.heap.length > 0 && this.runs[this.heap[0]!]!.key === this.key;
  }

  /** Moves to the next key (skipping what is left of the current group); false when done. */
  nextGroup(): boolean {
    if (this.groupOpen) while (this.topHasKey()) this.advanceTop();
    if (this.heap.length === 0) return false;
    const top = this.runs[this.heap[0]!]!;
    this.key = top.key;
    this.keyJson = (top.flags & KEY_JSON) !== 0;
    this.groupOpen = true;
    return true;
  }

  /** The current group's values as encoded text, with whether each is JSON. */
  *rawValues(): Generator<[text: string, json: boolean]> {
    while (this.topHasKey()) {
      const run = this.runs[this.heap[0]!]!;
      const item: [string, boolean] = [run.value, (run.flags & VALUE_JSON) !== 0];
      this.advanceTop();
      yield item;
    }
  }

  /** The current group's values, decoded; an iterable that can be walked once. */
  values(): Iterable<unknown> {
    return new GroupValues(this);
  }

  /** The next value of the current group, decoded, or DONE. */
  nextValue(): unknown {
    if (!this.topHasKey()) return DONE;
    const v = this.runs[this.heap[0]!]!.decodedValue();
    this.advanceTop();
    return v;
  }
}

const DONE = Symbol('done');

/** A group's values as an iterator without a generator: reduce calls it once per value. */
class GroupValues implements Iterable<unknown>, Iterator<unknown> {
  constructor(private readonly merge: GroupedMerge) {}

  [Symbol.iterator](): Iterator<unknown> {
    return this;
  }

  next(): IteratorResult<unknown> {
    const v = this.merge.nextValue();
    return v === DONE ? { done: true, value: undefined } : { done: false, value: v };
  }
}
