import type { KeyOrder, OrderForm } from '../phases/order.js';
import { KEY_JSON, type RecordReader, VALUE_JSON } from './records.js';

/**
 * K-way merge of sorted runs, grouped by key. Equal keys from different runs come out in run
 * order, so a group's values are in a deterministic order (map task, then emission order).
 * Values are pulled one at a time: a group can be larger than memory.
 */
export class GroupedMerge {
  /**
   * A tournament (loser) tree over the runs: node n in [1, k) holds the run that lost the match
   * there, leaves are k + run; `winner` is the run with the smallest current record. Replacing
   * the winner's record replays one match per level (log2 k comparisons; a binary heap's sift
   * makes up to twice as many).
   */
  private readonly losers: Int32Array;
  private winner = -1;
  /** Runs with no record left: they lose every match. */
  private readonly exhausted: Uint8Array;
  /** Whether the current group's key is JSON (else text). */
  keyJson = false;
  /** The current group's key text, once asked for. */
  private keyText: string | undefined;
  /** The current group's key bytes, `groupKey[0, groupKeyLength)`: runs are compared with it as bytes. */
  private groupKey = Buffer.allocUnsafe(256);
  private groupKeyLength = 0;
  private groupOpen = false;
  /** Records read so far. */
  records = 0;

  /** The current record's order form per run, when the job has its own order (made once per record). */
  private readonly forms: (OrderForm | undefined)[];

  /**
   * @param order the job's own partition and sort order (runs were sorted by it); without one,
   *   keys compare as bytes
   */
  constructor(
    private readonly runs: RecordReader[],
    private readonly order?: KeyOrder,
  ) {
    const k = runs.length;
    this.forms = new Array(k);
    this.exhausted = new Uint8Array(k);
    runs.forEach((r, i) => {
      if (!r.next()) this.exhausted[i] = 1;
    });
    this.losers = new Int32Array(Math.max(1, k));
    if (k === 0) return;
    // Play every match bottom-up; winners[n] is the run that won at node n (leaves: k + run).
    const winners = new Int32Array(2 * k);
    for (let i = 0; i < k; i++) winners[k + i] = i;
    for (let n = k - 1; n >= 1; n--) {
      const a = winners[2 * n]!;
      const b = winners[2 * n + 1]!;
      const aFirst = !this.before(b, a);
      winners[n] = aFirst ? a : b;
      this.losers[n] = aFirst ? b : a;
    }
    this.winner = k === 1 ? 0 : winners[1]!;
  }

  /**
   * Whether run a's record comes before run b's: keys in UTF-8 byte order (the order the runs
   * were sorted in), ties by run, so equal keys come out in run order; exhausted runs last.
   */
  private before(a: number, b: number): boolean {
    if (this.exhausted[a]) return false;
    if (this.exhausted[b]) return true;
    const c = this.order ? this.order.compare(this.formOf(a), this.formOf(b)) : this.runs[a]!.compareKey(this.runs[b]!);
    return c < 0 || (c === 0 && a < b);
  }

  private formOf(i: number): OrderForm {
    let f = this.forms[i];
    if (f === undefined) {
      const r = this.runs[i]!;
      f = this.order!.form(r.key, r.flags, this.order!.needsValue ? r.value : '');
      this.forms[i] = f;
    }
    return f;
  }

  /** Moves the winning run past its current record and replays its matches. */
  private advanceTop(): void {
    const w = this.winner;
    this.records++;
    // Stored whether or not the run has ended: a statement that first runs at a run's end,
    // after the compiler has made the merge fast, sends it back to slow code.
    this.exhausted[w] = this.runs[w]!.next() ? 0 : 1;
    this.forms[w] = undefined;
    const losers = this.losers;
    let win = w;
    for (let n = (w + this.runs.length) >> 1; n >= 1; n >>= 1) {
      const l = losers[n]!;
      if (this.before(l, win)) {
        losers[n] = win;
        win = l;
      }
    }
    this.winner = win;
  }

  /** Whether a record is left in any run. */
  private get live(): boolean {
    return this.winner >= 0 && this.exhausted[this.winner] === 0;
  }

  private topHasKey(): boolean {
    return this.live && this.runs[this.winner]!.keyEquals(this.groupKey, this.groupKeyLength);
  }

  /** Moves to the next key (skipping what is left of the current group); false when done. */
  nextGroup(): boolean {
    if (this.groupOpen) while (this.topHasKey()) this.advanceTop();
    if (!this.live) return false;
    const top = this.runs[this.winner]!;
    if (top.keyLength > this.groupKey.length) this.groupKey = Buffer.allocUnsafe(2 * top.keyLength);
    this.groupKeyLength = top.copyKey(this.groupKey);
    this.keyText = undefined;
    this.keyJson = (top.flags & KEY_JSON) !== 0;
    this.groupOpen = true;
    return true;
  }

  /** The current group's key as encoded text (made on demand: a merge of bytes may never need it). */
  get key(): string {
    if (this.keyText === undefined) this.keyText = this.groupKey.toString('utf8', 0, this.groupKeyLength);
    return this.keyText;
  }

  /** The current group's key as UTF-8 bytes: `keyBytes[0, keyLength)`, valid until nextGroup(). */
  get keyBytes(): Buffer {
    return this.groupKey;
  }

  get keyLength(): number {
    return this.groupKeyLength;
  }

  /** The current group's values as encoded text, with whether each is JSON. */
  *rawValues(): Generator<[text: string, json: boolean]> {
    while (this.topHasKey()) {
      const run = this.runs[this.winner]!;
      const item: [string, boolean] = [run.value, (run.flags & VALUE_JSON) !== 0];
      this.advanceTop();
      yield item;
    }
  }

  /**
   * The run whose current record is the current group's next, or undefined at the group's end;
   * `advance()` moves past that record. For readers that copy records' bytes as they are.
   */
  groupRecord(): RecordReader | undefined {
    return this.topHasKey() ? this.runs[this.winner] : undefined;
  }

  /** Moves past the record `groupRecord()` gave. */
  advance(): void {
    this.advanceTop();
  }

  /** The current group's values, decoded; an iterable that can be walked once. */
  values(): Iterable<unknown> {
    return new GroupValues(this);
  }

  /** The next value of the current group, decoded, or DONE. */
  nextValue(): unknown {
    if (!this.topHasKey()) return DONE;
    const v = this.runs[this.winner]!.decodedValue();
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
