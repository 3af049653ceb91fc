import { isAscii } from 'node:buffer';
import { partitionedOrder } from '../format/byte-order.js';
import type { RunWriter } from '../format/runs.js';
import { countWords, LOWER } from '../format/words.js';
import type { AnyJob } from '../job.js';
import { type MapSideTable, sum } from './combine-table.js';
import { doubledSlots, FNV_OFFSET, FNV_PRIME, SLOT } from './slot-table.js';

/**
 * True when a map task can count words on bytes: the job's map is the SDK's `countWords`, its
 * combine the SDK's `sum`, its input `text`, and it has reducers (a map-only job writes every
 * `(word, 1)` as it is emitted).
 */
export function countsWordsOnBytes(job: AnyJob, inputFormat: string, reducers: number): boolean {
  return job.map === countWords && job.combine === sum && !job.mapper && inputFormat === 'text' && reducers > 0;
}

// A slot (slot-table.ts): the word's hash, arena offset + 1, length, count.

const LETTER_OR_NUMBER = /^[\p{L}\p{N}]$/u;
/** Per UTF-16 unit outside ASCII and the surrogates: 0 not yet known, 1 a separator, 2 in a word. */
const BMP_CLASS = new Uint8Array(0x10000);
/** Code points beyond the BMP met so far, by whether they are in a word. */
const ASTRAL_CLASS = new Map<number, boolean>();

/** Whether the BMP character `c` (not ASCII, not a surrogate) matches `[\p{L}\p{N}_]`. */
function isWordUnit(c: number): boolean {
  let k = BMP_CLASS[c]!;
  if (k === 0) k = BMP_CLASS[c] = LETTER_OR_NUMBER.test(String.fromCharCode(c)) ? 2 : 1;
  return k === 2;
}

/** Whether the code point `c` beyond the BMP matches `[\p{L}\p{N}_]`. */
function isWordCodePoint(c: number): boolean {
  let k = ASTRAL_CLASS.get(c);
  if (k === undefined) {
    k = LETTER_OR_NUMBER.test(String.fromCodePoint(c));
    ASTRAL_CLASS.set(c, k);
  }
  return k;
}
const NL = 10;
/** Bytes per ASCII check: small enough that one line beyond ASCII sends little text the slow way. */
const PIECE = 4 * 1024;
/**
 * A count that reaches this makes the table ask to be written out (`bytes` turns infinite):
 * counts are int32s, and one block adds far fewer than 2^30 more.
 */
const COUNT_LIMIT = 1 << 30;
/**
 * Slots the table starts with (4 MiB): a corpus's vocabulary is tens or hundreds of thousands of
 * words, and the pages of slots no word lands in are never touched. Starting at 2^16, the
 * 94,622 words of a bench map task doubled the table twice, rehashing once each before the
 * compiler had got to it and touching 3 MiB of fresh memory more (~30 ms a task).
 */
const INITIAL_SLOTS = 1 << 18;

/** The slots a table starts with under a sort buffer of `bytes`: INITIAL_SLOTS, fewer where they would take over a sixteenth of it. */
export function initialSlots(bytes: number): number {
  let slots = INITIAL_SLOTS;
  while (slots > 1024 && slots * SLOT * 4 * 16 > bytes) slots /= 2;
  return slots;
}

/**
 * Word count on bytes: what `countWords` + `combine: sum` compute, without a string per line or
 * per token. Blocks of whole lines are scanned byte by byte; the words of an ASCII line are
 * lower-cased in place, hashed while scanning and counted in an open-addressing table keyed by
 * their bytes (an arena of distinct words and int32 slots of hash, offset, length and count).
 * A line with a byte >= 0x80 is decoded and tokenised by forEachWord's own rule (Unicode
 * lower-casing and the `[\p{L}\p{N}_]+` expression), its words counted by their UTF-8 bytes.
 * Keys written are the words' UTF-8 bytes, which are their encoded texts: the output is that of
 * the string path, byte for byte (test/word-count.test.ts).
 */
export class WordCountTable implements MapSideTable {
  private arena = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private mask = 0;
  private slots = new Int32Array(0);
  /** The filled slots' indexes, in the order their words came. */
  private filled = new Int32Array(0);
  private saturated = false;
  /** Distinct words held. */
  size = 0;
  /** Words counted, in all (the records `countWords` would have emitted). */
  records = 0;
  /**
   * (start, end, hash) of each word of the line being scanned. Sized for long lines (48 KiB): a
   * growth met after the compiler has made the scan fast sends it back to slow code (see SEED).
   */
  private spans: Int32Array = new Int32Array(3 * 4096);
  /** A non-ASCII line's words' UTF-8 bytes (made by the first such line: see SEED). */
  private scratch = Buffer.allocUnsafe(0);

  /**
   * @param countLimit see COUNT_LIMIT (tests make it small)
   * @param initialSlots a power of two (see INITIAL_SLOTS; a small sort buffer wants fewer)
   */
  constructor(
    private readonly countLimit = COUNT_LIMIT,
    private readonly initialSlots = INITIAL_SLOTS,
  ) {
    this.alloc(initialSlots);
    if (!seeded) seedFeedback();
  }

  /** Estimated heap bytes held: what the sort buffer limit bounds. */
  get bytes(): number {
    return this.saturated
      ? Number.POSITIVE_INFINITY
      : this.arena.length + this.slots.byteLength + this.filled.byteLength;
  }

  private alloc(capacity: number): void {
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity * SLOT);
    this.filled = new Int32Array(capacity / 2);
  }

  /** Counts the words of a block of whole lines (see BlockSink); returns the number of lines. */
  countBlock(buf: Buffer): number {
    const len = buf.length;
    if (len === 0) return 0;
    if (this.mask < 0) this.alloc(this.initialSlots);
    let lines = buf[len - 1] === NL ? 0 : 1; // the object's last line may have no LF
    // Most text is ASCII: pieces of about PIECE bytes (whole lines) that are all ASCII, as
    // buffer.isAscii (SIMD) tells, take the tight loop; the others check each line for bytes
    // beyond ASCII.
    for (let s = 0; s < len; ) {
      let e = s + PIECE >= len ? len : buf.indexOf(NL, s + PIECE) + 1;
      if (e === 0) e = len;
      lines += isAscii(buf.subarray(s, e)) ? this.countAscii(buf, s, e) : this.countMixed(buf, s, e);
      s = e;
    }
    return lines;
  }

  /** The words of the ASCII lines buf[s, e); returns the number of LFs. */
  private countAscii(buf: Buffer, s: number, e: number): number {
    let lines = 0;
    let words = 0;
    let i = s;
    outer: while (i < e) {
      let b = buf[i]!;
      let c = LOWER[b]!;
      while (c === 0) {
        if (b === NL) lines++;
        if (++i === e) break outer;
        b = buf[i]!;
        c = LOWER[b]!;
      }
      const start = i;
      let h = FNV_OFFSET;
      do {
        if (c !== b) buf[i] = c;
        h = Math.imul(h ^ c, FNV_PRIME);
        if (++i === e) break;
        b = buf[i]!;
        c = LOWER[b]!;
      } while (c !== 0);
      this.add(buf, start, i, h);
      words++;
    }
    this.records += words;
    return lines;
  }

  /**
   * The words of lines buf[s, e) some of which go beyond ASCII; returns the number of LFs. An
   * ASCII line's words are hashed while scanning and counted at its end; a line with a byte >=
   * 0x80 is decoded and tokenised by forEachWord's rule instead.
   */
  private countMixed(buf: Buffer, s: number, e: number): number {
    let lines = 0;
    let lineStart = s;
    let n = 0; // span slots used on this line
    let spans: Int32Array = this.spans;
    let start = -1;
    let h = FNV_OFFSET;
    for (let i = s; i <= e; i++) {
      const b = i < e ? buf[i]! : NL;
      if (b === NL || b >= 0x80) {
        if (i === e && i === lineStart) break; // the piece ended with its LF
        if (i < e) lines++; // a LF, or a line beyond ASCII (which ends at one unless it ends the object)
        if (b >= 0x80) {
          let nl = buf.indexOf(NL, i);
          if (nl < 0 || nl >= e) {
            nl = e;
            lines--; // the object's last line, counted by countBlock
          }
          this.countText(buf.toString('utf8', lineStart, nl));
          i = nl;
        } else {
          if (start >= 0) {
            if (n + 3 > spans.length) spans = this.growSpans();
            spans[n++] = start;
            spans[n++] = i;
            spans[n++] = h;
          }
          for (let k = 0; k < n; k += 3) this.add(buf, spans[k]!, spans[k + 1]!, spans[k + 2]!);
          this.records += n / 3;
        }
        lineStart = i + 1;
        n = 0;
        start = -1;
        h = FNV_OFFSET;
        continue;
      }
      const c = LOWER[b]!;
      if (c !== 0) {
        if (c !== b) buf[i] = c;
        if (start < 0) start = i;
        h = Math.imul(h ^ c, FNV_PRIME);
      } else if (start >= 0) {
        if (n + 3 > spans.length) spans = this.growSpans();
        spans[n++] = start;
        spans[n++] = i;
        spans[n++] = h;
        start = -1;
        h = FNV_OFFSET;
      }
    }
    return lines;
  }

  private growSpans(): Int32Array {
    const bigger = new Int32Array(this.spans.length * 2);
    bigger.set(this.spans);
    this.spans = bigger;
    return bigger;
  }

  /**
   * A line beyond ASCII: forEachWord's rule (the maximal runs of `[\p{L}\p{N}_]` code points of
   * the lower-cased line), on the whole line, since lower-casing can depend on a letter's
   * neighbours (a final sigma) and change its length. The lower-cased line is scanned by code
   * point, each word's UTF-8 bytes written and hashed as it is scanned: no match object or
   * string per word.
   */
  private countText(line: string): void {
    const text = line.toLowerCase();
    const n = text.length;
    let bytes = this.scratch;
    if (bytes.length < 3 * n) bytes = this.scratch = Buffer.allocUnsafe(Math.max(3 * n, 64 * 1024));
    let w = 0; // bytes of the current word
    let h = FNV_OFFSET;
    for (let i = 0; i <= n; i++) {
      let c = i < n ? text.charCodeAt(i) : 0;
      let word: boolean;
      let units = 1;
      if (c < 0x80) word = LOWER[c] !== 0;
      else if (c < 0xd800 || c > 0xdfff) word = isWordUnit(c);
      else {
        const d = c < 0xdc00 && i + 1 < n ? text.charCodeAt(i + 1) : 0;
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          units = 2;
          word = isWordCodePoint(c);
        } else word = false; // a lone surrogate
      }
      if (word) {
        if (c < 0x80) {
          bytes[w++] = c;
          h = Math.imul(h ^ c, FNV_PRIME);
        } else {
          const at = w;
          if (c < 0x800) {
            bytes[w++] = 0xc0 | (c >> 6);
            bytes[w++] = 0x80 | (c & 63);
          } else if (c < 0x10000) {
            bytes[w++] = 0xe0 | (c >> 12);
            bytes[w++] = 0x80 | ((c >> 6) & 63);
            bytes[w++] = 0x80 | (c & 63);
          } else {
            bytes[w++] = 0xf0 | (c >> 18);
            bytes[w++] = 0x80 | ((c >> 12) & 63);
            bytes[w++] = 0x80 | ((c >> 6) & 63);
            bytes[w++] = 0x80 | (c & 63);
          }
          for (let k = at; k < w; k++) h = Math.imul(h ^ bytes[k]!, FNV_PRIME);
        }
      } else if (w > 0) {
        this.add(bytes, 0, w, h);
        this.records++;
        w = 0;
        h = FNV_OFFSET;
      }
      i += units - 1;
    }
  }

  /** Counts one occurrence of the word src[s, e), `h` the FNV-1a hash of its bytes. */
  private add(src: Uint8Array, s: number, e: number, h: number): void {
    const len = e - s;
    const { arena, slots, mask } = this;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const j = i * SLOT;
      const off = slots[j + 1]! - 1;
      if (off < 0) {
        this.insert(i, src, s, len, h);
        return;
      }
      if (slots[j] === h && slots[j + 2] === len) {
        let k = 0;
        while (k < len && arena[off + k] === src[s + k]) k++;
        if (k === len) {
          if (++slots[j + 3]! >= this.countLimit) this.saturated = true;
          return;
        }
      }
    }
  }

  private insert(i: number, src: Uint8Array, s: number, len: number, h: number): void {
    if (this.used + len > this.arena.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.arena.length * 2, this.used + len));
      this.arena.copy(bigger, 0, 0, this.used);
      this.arena = bigger;
    }
    // Words are short: a loop copies them faster than a subarray and a native copy.
    const { arena, used } = this;
    for (let k = 0; k < len; k++) arena[used + k] = src[s + k]!;
    const j = i * SLOT;
    this.slots[j] = h;
    this.slots[j + 1] = this.used + 1;
    this.slots[j + 2] = len;
    this.slots[j + 3] = 1;
    this.used += len;
    this.filled[this.size] = i;
    if (++this.size * 2 > this.mask) this.grow();
  }

  private grow(): void {
    const slots = doubledSlots(this.slots);
    this.mask = slots.length / SLOT - 1;
    this.slots = slots;
    // The words' slots moved: find them again.
    const filled = new Int32Array((this.mask + 1) / 2);
    for (let i = 0, x = 0; i <= this.mask; i++) if (slots[i * SLOT + 1] !== 0) filled[x++] = i;
    this.filled = filled;
  }

  /** Writes the counts as R runs sorted by word bytes, one per partition, and empties the table. */
  async write(out: RunWriter, R: number): Promise<void> {
    const { arena, slots, size, filled } = this;
    // The words as offset, length and count in typed arrays. From the filled slots' list, not
    // by a walk of the slots: most of a large table's pages are untouched while its words are
    // few, and a walk touched them all (1,024 page faults, ~20 ms here, for a line of input).
    const offsets = new Int32Array(size);
    const lengths = new Int32Array(size);
    const counts = new Int32Array(size);
    for (let x = 0; x < size; x++) {
      const j = filled[x]! * SLOT;
      offsets[x] = slots[j + 1]! - 1;
      lengths[x] = slots[j + 2]!;
      counts[x] = slots[j + 3]!;
    }
    const { order, ends } = partitionedOrder(arena, offsets, lengths, R);
    for (let p = 0, k = 0; p < R; p++) {
      await out.appendKeyCounts(0, arena, offsets, lengths, counts, order, k, ends[p]!);
      k = ends[p]!;
      out.endRun();
    }
    // Start again as new: what the table holds is what the sort buffer limit bounds.
    this.arena = Buffer.allocUnsafe(1 << 20);
    this.used = 0;
    this.size = 0;
    this.saturated = false;
    // New slots only if counting goes on (after a spill): every task's last write would
    // otherwise make a table that no word goes into.
    this.slots = new Int32Array(0);
    this.filled = new Int32Array(0);
    this.mask = -1;
  }
}

/**
 * Text that takes every branch of the counting loops: ASCII pieces and mixed ones, words of
 * one to four UTF-8 bytes a character (a surrogate pair among them), upper case, digits, `_`,
 * CRLF, a last line without LF, more words than a small table holds. V8 compiles a hot loop for
 * the branches it has seen run; a branch first taken later (the first emoji of a map task)
 * sends the loop back to slow code, and it is compiled again: ~8-10 ms a time on the bench
 * machine, 3-4 times a map task. Counted once a thread, as its first table is made, on a table
 * thrown away, it leaves the counting methods' type feedback whole before any real text is
 * counted (a job without the word count never pays for it). The mixed lines come many times:
 * V8 keeps no feedback for a function until it has run for a while.
 */
const SEED = `${'Ab cd_9 EF gh\n'.repeat(PIECE / 14 + 1)}${'Ünï naïve – “q” Straße ΣΑΣ 日本 𝔘𝔫 😀 x\r\nab cd\n'.repeat(64)}${Array.from(
  { length: 40 },
  (_, i) => `w${i}`,
).join(' ')}\nlast`;
/** Whether this thread has counted SEED: the first table does, before any real text (~6 ms). */
let seeded = false;

function seedFeedback(): void {
  seeded = true;
  new WordCountTable(COUNT_LIMIT, 16).countBlock(Buffer.from(SEED));
}
