import { isUtf8 } from 'node:buffer';
import { byteOrder } from '../format/byte-order.js';
import { partitionOfBytes } from '../format/hash.js';
import type { RunWriter } from '../format/runs.js';
import type { MapSideTable } from './combine-table.js';

const NL = 10;
const CR = 13;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/** Int32s per record: line start, key end, value start, line end (arena offsets), next record of its key (-1: none). */
const REC = 5;
/** Int32s per slot: FNV-1a hash of the key, first record + 1 (0: empty), last record, key length. */
const SLOT = 4;
/** Bytes of a piece handed to a program's stdin. */
const PIECE = 64 * 1024;
/** Records shorter than this are copied byte by byte: a native copy costs more per call. */
const SHORT_COPY = 32;
/** The arena's offsets are int32s: a table asks to be written out before it holds this many bytes. */
const ARENA_LIMIT = 2 ** 30;

/**
 * The lines a mapper or combiner program prints (the `text` protocol, the engine's own key
 * order), held as bytes: no string per line, key or value. Each chunk of stdout is copied once
 * into an arena; each line's key is the bytes before its `keyFields`-th separator (Hadoop
 * Streaming's rule, as `splitKeyValue` applies it to strings), hashed while it is scanned and
 * looked up in an open-addressing table of distinct keys, whose records are chained in arrival
 * order. Writing sorts only the distinct keys, by their bytes, each partition's apart
 * (`partitionOfBytes`, the same partition as the key's text): the records come out in the
 * order a stable sort of all of them by key would give, and the runs are those of the string
 * path, byte for byte (test/line-table.test.ts). Text that is not UTF-8 is decoded as the
 * string path decodes it (U+FFFD for each bad sequence) before it is held.
 */
export class LineTable implements MapSideTable {
  private arena = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private recs = new Int32Array(REC * 4096);
  private count = 0;
  private mask = 0;
  private slots = new Int32Array(0);
  /** Distinct keys held. */
  size = 0;
  /** Lines taken since the table was made. */
  records = 0;
  /** The end of the last chunk, a line without its LF yet. */
  private carry: Buffer | undefined;
  private readonly sep: Buffer;

  constructor(
    separator: string,
    private readonly keyFields: number,
  ) {
    this.sep = Buffer.from(separator, 'utf8');
    if (this.sep.length === 0) throw new RangeError('The key separator of program output must not be empty');
    this.alloc(1 << 12);
  }

  /** Estimated heap bytes held: what the sort buffer limit bounds. */
  get bytes(): number {
    return this.used >= ARENA_LIMIT ? Number.POSITIVE_INFINITY : this.used + 4 * (REC * this.count + SLOT * this.size);
  }

  private alloc(capacity: number): void {
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity * SLOT);
  }

  /** Takes a chunk of program output: its whole lines now, the rest with the next chunk. */
  chunk(buf: Buffer): void {
    if (this.carry) {
      buf = Buffer.concat([this.carry, buf]);
      this.carry = undefined;
    }
    const last = buf.lastIndexOf(NL);
    if (last < 0) {
      this.carry = Buffer.from(buf);
      return;
    }
    if (last + 1 < buf.length) this.carry = Buffer.from(buf.subarray(last + 1));
    this.lines(buf.subarray(0, last + 1), false);
  }

  /** The program's output ended: a last line without LF is a line. */
  end(): void {
    const rest = this.carry;
    this.carry = undefined;
    if (rest && rest.length > 0) this.lines(rest, true);
  }

  /** Takes lines that each end with LF (or, at the end of the output, the one line in `text`). */
  private lines(text: Buffer, unterminated: boolean): void {
    if (!isUtf8(text)) text = Buffer.from(text.toString('utf8'));
    const at = this.reserve(text.length);
    text.copy(this.arena, at);
    const a = this.arena;
    const end = at + text.length;
    for (let s = at; s < end; ) {
      let nl = unterminated ? end : a.indexOf(NL, s);
      if (nl < 0 || nl > end) nl = end;
      // CRLF is one line end; at the end of the output a lone CR ends the line too, as for strings.
      const le = nl > s && a[nl - 1] === CR ? nl - 1 : nl;
      this.add(s, le);
      s = nl + 1;
    }
  }

  /** Holds the line arena[s, le). */
  private add(s: number, le: number): void {
    const a = this.arena;
    const sep = this.sep;
    const s0 = sep[0]!;
    const sepLen = sep.length;
    let h = FNV_OFFSET;
    let fields = 0;
    let keyEnd = le;
    for (let k = s; k < le; k++) {
      const b = a[k]!;
      if (b === s0 && (sepLen === 1 || this.sepAt(k, le))) {
        if (++fields === this.keyFields) {
          keyEnd = k;
          break;
        }
        // A separator inside the key (keyFields > 1) is part of it; the search goes on after it.
        for (let j = 0; j < sepLen; j++) h = Math.imul(h ^ a[k + j]!, FNV_PRIME);
        k += sepLen - 1;
        continue;
      }
      h = Math.imul(h ^ b, FNV_PRIME);
    }
    const valueStart = keyEnd < le ? keyEnd + sepLen : le;
    const r = this.count++;
    if (REC * this.count > this.recs.length) {
      const bigger = new Int32Array(this.recs.length * 2);
      bigger.set(this.recs);
      this.recs = bigger;
    }
    const recs = this.recs;
    const o = r * REC;
    recs[o] = s;
    recs[o + 1] = keyEnd;
    recs[o + 2] = valueStart;
    recs[o + 3] = le;
    recs[o + 4] = -1;
    this.records++;
    const len = keyEnd - s;
    const { slots, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const j = i * SLOT;
      const first = slots[j + 1]! - 1;
      if (first < 0) {
        slots[j] = h;
        slots[j + 1] = r + 1;
        slots[j + 2] = r;
        slots[j + 3] = len;
        if (++this.size * 2 > mask) this.grow();
        return;
      }
      if (slots[j] === h && slots[j + 3] === len) {
        const ks = recs[first * REC]!;
        let k = 0;
        while (k < len && a[ks + k] === a[s + k]) k++;
        if (k === len) {
          recs[slots[j + 2]! * REC + 4] = r;
          slots[j + 2] = r;
          return;
        }
      }
    }
  }

  private sepAt(k: number, le: number): boolean {
    const sep = this.sep;
    if (k + sep.length > le) return false;
    for (let j = 1; j < sep.length; j++) if (this.arena[k + j] !== sep[j]) return false;
    return true;
  }

  /** Room for n more bytes in the arena; returns where they go. */
  private reserve(n: number): number {
    if (this.used + n > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.used + n));
      this.arena.copy(bigger, 0, 0, this.used);
      this.arena = bigger;
    }
    const at = this.used;
    this.used += n;
    return at;
  }

  private grow(): void {
    const old = this.slots;
    this.alloc((this.mask + 1) * 2);
    const { slots, mask } = this;
    for (let j = 0; j < old.length; j += SLOT) {
      if (old[j + 1] === 0) continue;
      let i = old[j]! & mask;
      while (slots[i * SLOT + 1] !== 0) i = (i + 1) & mask;
      slots.set(old.subarray(j, j + SLOT), i * SLOT);
    }
  }

  /** The first record of each distinct key, per partition, each partition's sorted by key bytes. */
  private sortedGroups(R: number): Int32Array[] {
    const { arena, slots, recs } = this;
    const parts: number[][] = Array.from({ length: R }, () => []);
    for (let j = 0; j < slots.length; j += SLOT) {
      const first = slots[j + 1]! - 1;
      if (first < 0) continue;
      const ks = recs[first * REC]!;
      parts[R === 1 ? 0 : partitionOfBytes(arena, ks, ks + slots[j + 3]!, R)]!.push(first);
    }
    return parts.map((part) => {
      const n = part.length;
      const offsets = new Int32Array(n);
      const lengths = new Int32Array(n);
      for (let x = 0; x < n; x++) {
        const o = part[x]! * REC;
        offsets[x] = recs[o]!;
        lengths[x] = recs[o + 1]! - recs[o]!;
      }
      const order = byteOrder(arena, offsets, lengths);
      for (let x = 0; x < n; x++) order[x] = part[order[x]!]!;
      return order;
    });
  }

  /** Writes the lines as R runs sorted by key (one per partition) through `out`, and empties the table. */
  async write(out: RunWriter, R: number): Promise<void> {
    const { arena, recs } = this;
    for (const groups of this.sortedGroups(R)) {
      for (const first of groups)
        for (let r = first; r >= 0; r = recs[r * REC + 4]!) {
          const o = r * REC;
          const p = out.appendRecordBytes(0, arena, recs[o]!, recs[o + 1]!, recs[o + 2]!, recs[o + 3]!);
          if (p) await p;
        }
      out.endRun();
    }
    this.clear();
  }

  /**
   * Hands the lines, partition after partition and sorted by key within each (as the string
   * path feeds a combiner), to `write` in pieces of about 64 KiB, each line as
   * `key<separator>value` and LF (what a combiner program reads), and empties the table. Every
   * piece is a new buffer: `write` may keep it.
   */
  async feed(separator: string, R: number, write: (piece: Buffer) => Promise<void> | undefined): Promise<void> {
    const { arena, recs } = this;
    const sep = Buffer.from(separator, 'utf8');
    const sameSep = sep.equals(this.sep);
    let piece = Buffer.allocUnsafe(PIECE);
    let n = 0;
    const put = (s: number, e: number) => {
      const len = e - s;
      if (len < SHORT_COPY) for (let k = 0; k < len; k++) piece[n++] = arena[s + k]!;
      else n += arena.copy(piece, n, s, e);
    };
    for (const groups of this.sortedGroups(R)) {
      for (const first of groups)
        for (let r = first; r >= 0; r = recs[r * REC + 4]!) {
          const o = r * REC;
          const s = recs[o]!;
          const keyEnd = recs[o + 1]!;
          const vs = recs[o + 2]!;
          const le = recs[o + 3]!;
          const room = le - s + sep.length + 1;
          if (n + room > piece.length) {
            if (n > 0) {
              const p = write(piece.subarray(0, n));
              if (p) await p;
            }
            piece = Buffer.allocUnsafe(Math.max(PIECE, room));
            n = 0;
          }
          if (sameSep && keyEnd < le) put(s, le);
          else {
            put(s, keyEnd);
            for (let k = 0; k < sep.length; k++) piece[n++] = sep[k]!;
            put(vs, le);
          }
          piece[n++] = NL;
        }
    }
    if (n > 0) {
      const p = write(piece.subarray(0, n));
      if (p) await p;
    }
    this.clear();
  }

  private clear(): void {
    // Start small again: what the table holds is what the sort buffer limit bounds.
    this.arena = Buffer.allocUnsafe(1 << 20);
    this.used = 0;
    this.recs = new Int32Array(REC * 4096);
    this.count = 0;
    this.size = 0;
    this.alloc(1 << 12);
  }
}
