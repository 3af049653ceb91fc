import { isUtf8 } from 'node:buffer';
import { partitionedOrder } from '../format/byte-order.js';
import type { RunWriter } from '../format/runs.js';
import type { MapSideTable } from './combine-table.js';
import { doubledSlots, FNV_OFFSET, FNV_PRIME, SLOT } from './slot-table.js';

// A slot (slot-table.ts): the key's hash, offset + 1 in the keys arena, length, group.
const NL = 10;
const CR = 13;
/** Bytes of a piece handed to a program's stdin. */
const PIECE = 64 * 1024;
/** Records shorter than this are copied byte by byte: a native copy costs more per call. */
const SHORT_COPY = 32;
/** The arena's offsets are int32s: a table asks to be written out before it holds this many bytes. */
const ARENA_LIMIT = 2 ** 30;

/**
 * The lines a mapper or combiner program prints (the `text` protocol, the engine's own key
 * order), held as bytes: no string per line, key or value. Each line's key is the bytes before
 * its `keyFields`-th separator (Hadoop Streaming's rule, as `splitKeyValue` applies it to
 * strings), hashed while the line is scanned and looked up in an open-addressing table of
 * distinct keys (their bytes in an arena of their own, small and close together); the values
 * go one after another into another arena, each record keeping its key's group. Writing sorts
 * only the distinct keys, by their bytes, each partition's apart (`partitionOfBytes`, the same
 * partition as the key's text), and places the records of each group in arrival order by a
 * counting pass: the order a stable sort of all records by key gives, and the runs of the
 * string path, byte for byte (test/line-table.test.ts). Text that is not UTF-8 is decoded as
 * the string path decodes it (U+FFFD for each bad sequence) before it is held.
 */
export class LineTable implements MapSideTable {
  private keys = Buffer.allocUnsafe(1 << 16);
  private keysUsed = 0;
  private values = Buffer.allocUnsafe(1 << 20);
  private valuesUsed = 0;
  /** Per record: its group, and its value's offset in `values` (its end is the next record's start). */
  private group = new Int32Array(1 << 14);
  private valueAt = new Int32Array(1 << 14);
  private count = 0;
  /** Per group (distinct key): records, key offset and length. */
  private groupSize = new Int32Array(1 << 12);
  /** Per group: the bytes of its records' values. */
  private groupBytes = new Int32Array(1 << 12);
  private keyAt = new Int32Array(1 << 12);
  private keyLen = new Int32Array(1 << 12);
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
    const held = this.keysUsed + this.valuesUsed + 8 * this.count + 12 * this.size + 4 * this.slots.length;
    return this.valuesUsed >= ARENA_LIMIT || this.keysUsed >= ARENA_LIMIT ? Number.POSITIVE_INFINITY : held;
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
    this.lines(buf.subarray(0, last + 1));
  }

  /** The program's output ended: a last line without LF is a line. */
  end(): void {
    const rest = this.carry;
    this.carry = undefined;
    if (rest && rest.length > 0) this.lines(Buffer.concat([rest, LF]));
  }

  /** Takes lines that each end with LF. */
  private lines(text: Buffer): void {
    if (!isUtf8(text)) text = Buffer.from(text.toString('utf8'));
    const sep = this.sep;
    // A separator with a LF in it is never inside a line: a first byte no byte equals.
    const s0 = sep.includes(NL) ? -1 : sep[0]!;
    const sepLen = sep.length;
    const keyFields = this.keyFields;
    const end = text.length;
    for (let s = 0; s < end; ) {
      // One pass over the line: the key's hash and end, then the line's end.
      let h = FNV_OFFSET;
      let fields = 0;
      let keyEnd = -1;
      let k = s;
      for (; ; k++) {
        const b = text[k]!;
        if (b === NL) break;
        if (b === s0 && (sepLen === 1 || sepAt(text, sep, k))) {
          if (++fields === keyFields) {
            keyEnd = k;
            break;
          }
          // A separator inside the key (keyFields > 1) is part of it; the search goes on after it.
          for (let j = 0; j < sepLen; j++) h = Math.imul(h ^ text[k + j]!, FNV_PRIME);
          k += sepLen - 1;
          continue;
        }
        h = Math.imul(h ^ b, FNV_PRIME);
      }
      let nl = k;
      if (keyEnd >= 0) while (text[nl] !== NL) nl++;
      // CRLF is one line end, and so is a CR before the end of the output (as for strings).
      const le = nl > s && text[nl - 1] === CR ? nl - 1 : nl;
      if (keyEnd < 0 || keyEnd + sepLen > le) {
        // No separator within the line (a match that took in its CR is none): the line is all
        // key, hashed again unless the scan hashed exactly its bytes.
        if (keyEnd >= 0 || le < nl) h = rehash(text, s, le);
        keyEnd = le;
      }
      const valueStart = keyEnd < le ? keyEnd + sepLen : le;
      this.add(text, s, keyEnd, h, valueStart, le);
      s = nl + 1;
    }
  }

  /** Holds a record: key src[s, keyEnd) hashed to h, value src[vs, ve). */
  private add(src: Buffer, s: number, keyEnd: number, h: number, vs: number, ve: number): void {
    const r = this.count++;
    if (r === this.group.length) {
      this.group = grown(this.group);
      this.valueAt = grown(this.valueAt);
    }
    const vn = ve - vs;
    if (this.valuesUsed + vn > this.values.length) this.values = grownBytes(this.values, this.valuesUsed + vn);
    const values = this.values;
    const at = this.valuesUsed;
    if (vn < SHORT_COPY) for (let j = 0; j < vn; j++) values[at + j] = src[vs + j]!;
    else src.copy(values, at, vs, ve);
    this.valuesUsed = at + vn;
    this.valueAt[r] = at;
    this.records++;

    const len = keyEnd - s;
    const { slots, mask, keys } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const j = i * SLOT;
      const off = slots[j + 1]! - 1;
      if (off < 0) {
        const g = this.insert(j, src, s, len, h);
        this.group[r] = g;
        this.groupBytes[g] = vn;
        return;
      }
      if (slots[j] === h && slots[j + 2] === len) {
        let k = 0;
        while (k < len && keys[off + k] === src[s + k]) k++;
        if (k === len) {
          const g = slots[j + 3]!;
          this.group[r] = g;
          this.groupSize[g]!++;
          this.groupBytes[g]! += vn;
          return;
        }
      }
    }
  }

  /** A new key in slot j: its bytes into the key arena; returns its group. */
  private insert(j: number, src: Buffer, s: number, len: number, h: number): number {
    if (this.keysUsed + len > this.keys.length) this.keys = grownBytes(this.keys, this.keysUsed + len);
    const at = this.keysUsed;
    src.copy(this.keys, at, s, s + len);
    this.keysUsed += len;
    const g = this.size++;
    if (g === this.groupSize.length) {
      this.groupSize = grown(this.groupSize);
      this.groupBytes = grown(this.groupBytes);
      this.keyAt = grown(this.keyAt);
      this.keyLen = grown(this.keyLen);
    }
    this.groupSize[g] = 1;
    this.keyAt[g] = at;
    this.keyLen[g] = len;
    const slots = this.slots;
    slots[j] = h;
    slots[j + 1] = at + 1;
    slots[j + 2] = len;
    slots[j + 3] = g;
    if (this.size * 2 > this.mask) this.grow();
    return g;
  }

  private grow(): void {
    this.slots = doubledSlots(this.slots);
    this.mask = this.slots.length / SLOT - 1;
  }

  /** The groups in write order: partition after partition, sorted by key bytes within each; where each partition's end. */
  private sortedGroups(R: number): { groups: Int32Array; partEnds: Int32Array } {
    const G = this.size;
    const { order, ends } = partitionedOrder(this.keys, this.keyAt.subarray(0, G), this.keyLen.subarray(0, G), R);
    return { groups: order, partEnds: ends };
  }

  /** The records in write order (see sortedGroups), a group's in arrival order, by a counting pass. */
  private ordered(groups: Int32Array): Int32Array {
    const { groupSize, group } = this;
    const next = new Int32Array(this.size);
    let at = 0;
    for (let y = 0; y < groups.length; y++) {
      next[groups[y]!] = at;
      at += groupSize[groups[y]!]!;
    }
    const records = new Int32Array(this.count);
    for (let r = 0; r < this.count; r++) records[next[group[r]!]!++] = r;
    return records;
  }

  /** The end of record r's value in `values`. */
  private valueEnd(r: number): number {
    return r + 1 < this.count ? this.valueAt[r + 1]! : this.valuesUsed;
  }

  /** Writes the lines as R runs sorted by key (one per partition) through `out`, and empties the table. */
  async write(out: RunWriter, R: number): Promise<void> {
    const { groups, partEnds } = this.sortedGroups(R);
    const records = this.ordered(groups);
    const { keys, keyAt, keyLen, groupSize, values, valueAt } = this;
    let x = 0;
    let y = 0;
    for (const partEnd of partEnds) {
      for (; y < partEnd; y++) {
        const g = groups[y]!;
        const ks = keyAt[g]!;
        const ke = ks + keyLen[g]!;
        for (const stop = x + groupSize[g]!; x < stop; x++) {
          const r = records[x]!;
          const p = out.appendRecordBytes(0, keys, ks, ke, values, valueAt[r]!, this.valueEnd(r));
          if (p) await p;
        }
      }
      out.endRun();
    }
    this.clear();
  }

  /**
   * Hands the lines, partition after partition and sorted by key within each (as the string
   * path feeds a combiner), to `write`, each line as `key<separator>value` and LF (what a
   * combiner program reads), and empties the table. Each partition's lines are laid out in one
   * buffer by a counting pass: the records are read in arrival order (their values one after
   * another) and each is written at its group's next place, so nothing is read out of order.
   * Every buffer is new: `write` may keep it.
   */
  async feed(separator: string, R: number, write: (piece: Buffer) => Promise<void> | undefined): Promise<void> {
    const { groups, partEnds } = this.sortedGroups(R);
    const { keys, keyAt, keyLen, groupSize, groupBytes, values, valueAt, group } = this;
    const sep = Buffer.from(separator, 'utf8');
    const sepLen = sep.length;
    const partOf = new Int32Array(this.size);
    const place = new Float64Array(this.size);
    const partBytes: number[] = [];
    let y = 0;
    for (let p = 0; p < partEnds.length; p++) {
      let bytes = 0;
      for (; y < partEnds[p]!; y++) {
        const g = groups[y]!;
        partOf[g] = p;
        place[g] = bytes;
        bytes += groupSize[g]! * (keyLen[g]! + sepLen + 1) + groupBytes[g]!;
      }
      partBytes.push(bytes);
    }
    for (let p = 0; p < partEnds.length; p++) {
      const bytes = partBytes[p]!;
      if (bytes === 0) continue;
      const lines = Buffer.allocUnsafe(bytes);
      for (let r = 0; r < this.count; r++) {
        const g = group[r]!;
        if (partOf[g] !== p) continue;
        let n = place[g]!;
        const ks = keyAt[g]!;
        const kn = keyLen[g]!;
        if (kn < SHORT_COPY) for (let j = 0; j < kn; j++) lines[n++] = keys[ks + j]!;
        else n += keys.copy(lines, n, ks, ks + kn);
        for (let j = 0; j < sepLen; j++) lines[n++] = sep[j]!;
        const vs = valueAt[r]!;
        const ve = r + 1 < this.count ? valueAt[r + 1]! : this.valuesUsed;
        if (ve - vs < SHORT_COPY) for (let j = vs; j < ve; j++) lines[n++] = values[j]!;
        else n += values.copy(lines, n, vs, ve);
        lines[n++] = NL;
        place[g] = n;
      }
      for (let at = 0; at < bytes; at += PIECE) {
        const piece = write(lines.subarray(at, Math.min(bytes, at + PIECE)));
        if (piece) await piece;
      }
    }
    this.clear();
  }

  private clear(): void {
    // Start small again: what the table holds is what the sort buffer limit bounds.
    this.keys = Buffer.allocUnsafe(1 << 16);
    this.keysUsed = 0;
    this.values = Buffer.allocUnsafe(1 << 20);
    this.valuesUsed = 0;
    this.group = new Int32Array(1 << 14);
    this.valueAt = new Int32Array(1 << 14);
    this.count = 0;
    this.groupSize = new Int32Array(1 << 12);
    this.groupBytes = new Int32Array(1 << 12);
    this.keyAt = new Int32Array(1 << 12);
    this.keyLen = new Int32Array(1 << 12);
    this.size = 0;
    this.alloc(1 << 12);
  }
}

const LF = Buffer.from('\n');

/** Whether the separator's bytes start at text[k] (its first byte already matched). */
function sepAt(text: Buffer, sep: Buffer, k: number): boolean {
  for (let j = 1; j < sep.length; j++) if (text[k + j] !== sep[j]) return false;
  return true;
}

/** The FNV-1a hash of text[s, e). */
function rehash(text: Buffer, s: number, e: number): number {
  let h = FNV_OFFSET;
  for (let k = s; k < e; k++) h = Math.imul(h ^ text[k]!, FNV_PRIME);
  return h;
}

function grown(a: Int32Array): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

function grownBytes(b: Buffer, atLeast: number): Buffer<ArrayBuffer> {
  const bigger = Buffer.allocUnsafe(Math.max(b.length * 2, atLeast));
  b.copy(bigger);
  return bigger;
}
