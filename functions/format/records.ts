/**
 * Keys and values (DESIGN §1): strings are written as they are, anything else as JSON. Equal
 * encodings are equal keys, and keys sort in the byte order of their UTF-8 encoding.
 *
 * Intermediate record framing, used by spills, map data objects and reduce inputs alike:
 *   flags u8 (bit 0: key is JSON, bit 1: value is JSON) | key length u32 LE | key UTF-8 |
 *   value length u32 LE | value UTF-8
 */

export const KEY_JSON = 1;
export const VALUE_JSON = 2;

/** The text of a key or value, and whether it is JSON (so it can be decoded to what was emitted). */
export function encodeText(x: unknown): string {
  if (typeof x === 'string') return x;
  const json = JSON.stringify(x);
  // JSON.stringify(undefined) and of functions is undefined: write JSON null, as JSON.stringify([undefined]) does.
  return json === undefined ? 'null' : json;
}

export function decodeText(text: string, json: boolean): unknown {
  return json ? JSON.parse(text) : text;
}

/**
 * Compares strings by the byte order of their UTF-8 encodings without encoding them. UTF-16
 * order differs from it only where a surrogate (U+D800-DFFF, i.e. a code point above U+FFFF)
 * meets a unit in U+E000-FFFF; those are put back in UTF-8 order.
 */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        const xs = x < 0xe000 ? x + 0x2000 : x - 0x800;
        const ys = y < 0xe000 ? y + 0x2000 : y - 0x800;
        return xs - ys;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** The order of the byte strings a[as, ae) and b[bs, be): bytewise, then the shorter first. */
export function compareBytes(a: Uint8Array, as: number, ae: number, b: Uint8Array, bs: number, be: number): number {
  const an = ae - as;
  const bn = be - bs;
  const n = Math.min(an, bn);
  for (let i = 0; i < n; i++) {
    const d = a[as + i]! - b[bs + i]!;
    if (d !== 0) return d;
  }
  return an - bn;
}

/** Strings up to this length are written by hand when ASCII: Buffer#write costs more than that per call. */
const SHORT = 24;
/**
 * Byte strings shorter than this are copied by a loop. A native copy costs more per call, and
 * much more before the compiler has got to Buffer#copy: a reduce task's first merge spent a
 * tenth of its time there, on the long tokens of the spam corpus.
 */
const SHORT_COPY = 128;

/**
 * The little-endian u32 at `at`. By hand, as putU32 writes it: Buffer#readUInt32LE checks its
 * arguments on every call, which costs most before the compiler has got to it (a map task
 * writes, and a reduce task reads, tens of thousands of records once).
 */
function u32At(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/** Writes `v` (0 <= v < 2^32) as a little-endian u32 at `at` (see u32At). */
function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

/**
 * Writes the decimal digits of `n`, a non-negative safe integer (what String(n) gives), at `at`;
 * returns where they end. The caller makes room (16 bytes).
 */
export function writeDigits(b: Uint8Array, at: number, n: number): number {
  if (n < 10) {
    // Most counts: one digit, no division.
    b[at] = 0x30 + n;
    return at + 1;
  }
  let end = at + 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) end++;
  for (let i = end - 1, m = n; i >= at; i--, m = Math.floor(m / 10)) b[i] = 0x30 + (m % 10);
  return end;
}

/** Writes `text` as UTF-8 at `at` (room for 3 bytes per unit is reserved); returns the bytes written. */
function writeText(b: Buffer, text: string, at: number): number {
  const n = text.length;
  if (n <= SHORT) {
    let i = 0;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) break;
      b[at + i] = c;
    }
    if (i === n) return n;
  }
  return b.write(text, at, 'utf8');
}

/** Units where UTF-16 order and UTF-8 byte order can differ (surrogates meeting U+E000-FFFF). */
const HIGH = /[\ud800-\uffff]/;

/**
 * Sorts items, in place and stably, by the UTF-8 byte order of their keys (compareUtf8). Map
 * output repeats its keys (a word per token), so equal keys are first gathered into groups, in
 * arrival order, and only the distinct keys are sorted, as strings without a comparator (see
 * sortUtf8): far fewer keys, each comparison native instead of two calls into a comparator.
 */
export function sortByUtf8<T>(items: T[], keyOf: (item: T) => string): T[] {
  const n = items.length;
  if (n < 2) return items;
  const group = new Map<string, number>();
  const head: number[] = [];
  const tail: number[] = [];
  /** The next item of the same key, -1 at a group's end. */
  const next = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const k = keyOf(items[i]!);
    const g = group.get(k);
    if (g === undefined) {
      group.set(k, head.length);
      head.push(i);
      tail.push(i);
    } else {
      next[tail[g]!] = i;
      tail[g] = i;
    }
  }
  const keys = sortUtf8([...group.keys()]);
  const arrived = items.slice();
  let at = 0;
  for (const k of keys) for (let i = head[group.get(k)!]!; i >= 0; i = next[i]!) items[at++] = arrived[i]!;
  return items;
}

/**
 * Sorts strings in place by their UTF-8 byte order. For strings without a unit at or above
 * U+D800 that order is UTF-16 order, which the engine compares natively (a sort without a
 * comparator), much faster than compareUtf8's loop: those are sorted natively, the few others
 * with compareUtf8, and the two runs merged.
 */
export function sortUtf8(keys: string[]): string[] {
  const high: string[] = [];
  let n = 0;
  for (const k of keys) {
    if (HIGH.test(k)) high.push(k);
    else keys[n++] = k;
  }
  keys.length = n;
  keys.sort(); // strings, no comparator: UTF-16 code unit order
  if (high.length === 0) return keys;
  high.sort(compareUtf8);
  const low = keys.slice();
  keys.length = 0;
  let i = 0;
  let j = 0;
  while (i < low.length && j < high.length) keys.push(compareUtf8(low[i]!, high[j]!) < 0 ? low[i++]! : high[j++]!);
  while (i < low.length) keys.push(low[i++]!);
  while (j < high.length) keys.push(high[j++]!);
  return keys;
}

/** Copies src[s, e) into target at `at`, byte by byte when short (a native copy costs more per call); returns the end. */
function copyInto(src: Buffer, s: number, e: number, target: Buffer, at: number): number {
  if (e - s < SHORT_COPY) {
    for (let i = s; i < e; i++) target[at++] = src[i]!;
    return at;
  }
  return at + src.copy(target, at, s, e);
}

/** A growable byte buffer that appends framed records. */
export class RecordBuffer {
  buf: Buffer;
  length = 0;

  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const bigger = Buffer.allocUnsafe(cap);
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  /** Appends one record; `key` and `value` are encoded texts. */
  append(flags: number, key: string, value: string): void {
    // A UTF-16 unit never takes more than 3 UTF-8 bytes.
    this.reserve(9 + 3 * (key.length + value.length));
    const b = this.buf;
    let o = this.length;
    b[o] = flags;
    const kn = writeText(b, key, o + 5);
    putU32(b, o + 1, kn);
    o += 5 + kn;
    const vn = writeText(b, value, o + 4);
    putU32(b, o, vn);
    this.length = o + 4 + vn;
  }

  /** Appends one record whose key is already UTF-8: src[start, end). */
  appendKeyBytes(flags: number, src: Uint8Array, start: number, end: number, value: string): void {
    const kn = end - start;
    this.reserve(9 + kn + 3 * value.length);
    const b = this.buf;
    let o = this.length;
    b[o] = flags;
    putU32(b, o + 1, kn);
    b.set(src.subarray(start, end), o + 5);
    o += 5 + kn;
    const vn = writeText(b, value, o + 4);
    putU32(b, o, vn);
    this.length = o + 4 + vn;
  }

  /**
   * Appends one record per position z of order[from, to) while fewer than `limit` bytes are
   * buffered: the key arena[offsets[z], offsets[z] + lengths[z]), already UTF-8, and the value
   * counts[z] (0 <= count < 2^31) as JSON, i.e. `appendKeyBytes(flags | VALUE_JSON, …,
   * String(count))` without the string. Returns the next position. One loop for a whole table:
   * a map task writes its table once, before the compiler has got to a call per record (~60 ms
   * for a bench task's 94,622 words, against ~35 ms). Every statement of the loop runs from the
   * first record on (the length stored per record, long keys copied by the same loop): a
   * statement the compiled loop has never seen run sends it back to slow code, and the compiler
   * starts again.
   */
  appendKeyCounts(
    flags: number,
    arena: Uint8Array,
    offsets: Int32Array,
    lengths: Int32Array,
    counts: Int32Array,
    order: Int32Array,
    from: number,
    to: number,
    limit: number,
  ): number {
    const f = flags | VALUE_JSON;
    let b = this.buf;
    let o = this.length;
    let k = from;
    for (; k < to && o < limit; k++) {
      const z = order[k]!;
      const start = offsets[z]!;
      const kn = lengths[z]!;
      // Flags, key length, key, value length, at most 10 digits.
      if (o + kn + 19 > b.length) {
        this.length = o;
        this.reserve(kn + 19);
        b = this.buf;
      }
      b[o] = f;
      putU32(b, o + 1, kn);
      o += 5;
      for (let i = 0; i < kn; i++) b[o + i] = arena[start + i]!;
      o += kn;
      const end = writeDigits(b, o + 4, counts[z]!);
      putU32(b, o, end - o - 4);
      o = end;
      this.length = o;
    }
    return k;
  }

  /** Appends one record whose key and value are already UTF-8: keySrc[ks, ke) and valueSrc[vs, ve). */
  appendRecordBytes(
    flags: number,
    keySrc: Uint8Array,
    ks: number,
    ke: number,
    valueSrc: Uint8Array,
    vs: number,
    ve: number,
  ): void {
    const kn = ke - ks;
    const vn = ve - vs;
    this.reserve(9 + kn + vn);
    const b = this.buf;
    let o = this.length;
    b[o] = flags;
    putU32(b, o + 1, kn);
    o += 5;
    if (kn < SHORT) for (let k = 0; k < kn; k++) b[o + k] = keySrc[ks + k]!;
    else b.set(keySrc.subarray(ks, ke), o);
    o += kn;
    putU32(b, o, vn);
    o += 4;
    if (vn < SHORT) for (let k = 0; k < vn; k++) b[o + k] = valueSrc[vs + k]!;
    else b.set(valueSrc.subarray(vs, ve), o);
    this.length = o + vn;
  }

  appendBytes(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    this.buf.set(src.subarray(start, end), this.length);
    this.length += end - start;
  }

  reset(): void {
    this.length = 0;
  }

  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** One decoded intermediate record. The key stays text: grouping and order work on it. */
export interface FramedRecord {
  flags: number;
  key: string;
  value: string;
}

/**
 * Reads framed records from a source of bytes that can be pulled synchronously (a local file
 * region or memory), refilling its buffer as needed, so a merge of many runs never awaits
 * per record and memory stays at one buffer per run.
 */
export class RecordReader {
  private buf: Buffer;
  private pos = 0;
  private end = 0;
  private remaining: number;
  /** The record under the cursor; valid after `next()` returned true. */
  flags = 0;
  /** Where the current key's and value's bytes are in `buf` (valid until the next `next()`). */
  private kStart = 0;
  private kEnd = 0;
  private vStart = 0;
  private vEnd = 0;
  /** The current key as text, once asked for (a merge compares and groups keys as bytes). */
  private keyText: string | undefined;

  /**
   * @param pull fills `target[0, n)` with the next bytes of the region and returns how many it wrote
   * @param length bytes in the region
   */
  constructor(
    private readonly pull: (target: Buffer, max: number) => number,
    length: number,
    bufferBytes = 64 * 1024,
  ) {
    this.remaining = length;
    this.buf = Buffer.allocUnsafe(Math.max(16, Math.min(bufferBytes, length)));
  }

  /** A reader over bytes already in memory. */
  static ofBuffer(data: Uint8Array): RecordReader {
    let off = 0;
    const r = new RecordReader(
      (target, max) => {
        const n = Math.min(max, data.length - off);
        target.set(data.subarray(off, off + n), 0);
        off += n;
        return n;
      },
      data.length,
      data.length,
    );
    return r;
  }

  /** Makes sure `n` bytes are buffered from `pos`; false at the end of the region. */
  private ensure(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    const have = this.end - this.pos;
    if (have + this.remaining < n) {
      if (have + this.remaining > 0) throw new Error('Truncated intermediate record');
      return false;
    }
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, this.buf.length * 2));
      this.buf.copy(bigger, 0, this.pos, this.end);
      this.buf = bigger;
    } else {
      this.buf.copy(this.buf, 0, this.pos, this.end);
    }
    this.pos = 0;
    this.end = have;
    while (this.end < n) {
      const want = Math.min(this.buf.length - this.end, this.remaining);
      const got = this.pull(this.end === 0 ? this.buf : this.buf.subarray(this.end), want);
      if (got <= 0) throw new Error('Intermediate data ended early');
      this.end += got;
      this.remaining -= got;
    }
    return true;
  }

  /** Moves to the next record, buffered whole (so its key and value stay where they are); false at the end. */
  next(): boolean {
    if (!this.ensure(5)) return false;
    const kn = u32At(this.buf, this.pos + 1);
    this.ensure(5 + kn + 4); // throws when the region ends inside the record
    const vn = u32At(this.buf, this.pos + 5 + kn);
    this.ensure(5 + kn + 4 + vn);
    // Offsets only now: ensure() may have moved the buffered bytes.
    const at = this.pos;
    this.flags = this.buf[at]!;
    this.kStart = at + 5;
    this.kEnd = this.kStart + kn;
    this.vStart = this.kEnd + 4;
    this.vEnd = this.vStart + vn;
    this.pos = this.vEnd;
    this.keyText = undefined;
    return true;
  }

  /** The current key's encoded text. */
  get key(): string {
    if (this.keyText === undefined) this.keyText = this.buf.toString('utf8', this.kStart, this.kEnd);
    return this.keyText;
  }

  /** The order of this record's key and `other`'s current key: their UTF-8 bytes, compared. */
  compareKey(other: RecordReader): number {
    return compareBytes(this.buf, this.kStart, this.kEnd, other.buf, other.kStart, other.kEnd);
  }

  /** Whether the current key's bytes are `bytes[0, length)`. */
  keyEquals(bytes: Uint8Array, length: number): boolean {
    return this.kEnd - this.kStart === length && compareBytes(this.buf, this.kStart, this.kEnd, bytes, 0, length) === 0;
  }

  /** Copies the current key's bytes into `target` (which must hold them); returns their length. */
  copyKey(target: Buffer): number {
    return copyInto(this.buf, this.kStart, this.kEnd, target, 0);
  }

  /** Bytes of the current key. */
  get keyLength(): number {
    return this.kEnd - this.kStart;
  }

  /** Bytes of the current value. */
  get valueLength(): number {
    return this.vEnd - this.vStart;
  }

  /** Copies the current key's bytes into `target` at `at` (which must have room); returns where they end. */
  copyKeyTo(target: Buffer, at: number): number {
    return copyInto(this.buf, this.kStart, this.kEnd, target, at);
  }

  /** Copies the current value's bytes into `target` at `at` (which must have room); returns where they end. */
  copyValueTo(target: Buffer, at: number): number {
    return copyInto(this.buf, this.vStart, this.vEnd, target, at);
  }

  /** The current value's encoded text; decoded on demand (a merge may only need some). */
  get value(): string {
    return this.buf.toString('utf8', this.vStart, this.vEnd);
  }

  /** The current value, decoded: JSON parsed (small integers read straight from the bytes), text as it is. */
  decodedValue(): unknown {
    if ((this.flags & VALUE_JSON) === 0) return this.value;
    const b = this.buf;
    const end = this.vEnd;
    let i = this.vStart;
    const negative = b[i] === 0x2d;
    if (negative) i++;
    // Up to 15 digits without a leading zero are an exact integer: the common counts and ids.
    if (end - i >= 1 && end - i <= 15 && (b[i] !== 0x30 || end - i === 1)) {
      let n = 0;
      for (; i < end; i++) {
        const d = b[i]! - 0x30;
        if (d < 0 || d > 9) break;
        n = n * 10 + d;
      }
      if (i === end) return negative ? -n : n;
    }
    return JSON.parse(this.value);
  }
}
