#!/usr/bin/env node
/**
 * The project's hand-written word count: the yardstick Streaming's word count is measured
 * against (bench/wordcount.ts). Plain Node, no Streaming code, as fast as we know how to make it:
 *   node bench/baselines/wordcount.mjs [--workers N] [--output FILE] [--json] <files or directories>
 * Same tokens as jobs/wordcount.ts: the maximal runs of Unicode letters, digits and `_` of the
 * lower-cased line. Output: `word<TAB>count` lines (in no particular order).
 *
 * How: the input is cut into one line-aligned byte range per worker thread. A worker reads its
 * range in 8 MiB blocks and scans bytes, never making a string for an ASCII word: each word is
 * hashed as it is scanned and counted in an open-addressing table whose keys are bytes in an
 * arena. Other UTF-8 is decoded as met: punctuation (curly quotes, dashes) only ends words; a
 * word holding other letters is decoded and matched (see countSegments). The workers' tables
 * are merged by the main thread, which writes the output in one buffer.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { inputFiles, lineRanges } from './documents.mjs';

/** Lower-cased ASCII word bytes (`[A-Za-z0-9_]`); 0 for every other byte below 0x80. */
const LOWER = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9_]/.test(ch)) LOWER[c] = ch.toLowerCase().charCodeAt(0);
}
const WORD = /[\p{L}\p{N}_]+/gu;
const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

/** Word bytes → count: open addressing, linear probing, keys in one arena. */
class Counts {
  constructor(bits = 16) {
    this.mask = (1 << bits) - 1;
    this.hashes = new Int32Array(1 << bits);
    this.offsets = new Int32Array(1 << bits).fill(-1);
    this.lengths = new Int32Array(1 << bits);
    this.counts = new Float64Array(1 << bits);
    this.size = 0;
    this.arena = new Uint8Array(1 << 20);
    this.used = 0;
  }

  /** Adds `n` to the word bytes[start, end), whose FNV-1a hash is `h`. */
  add(bytes, start, end, h, n) {
    const len = end - start;
    const { hashes, offsets, lengths, arena, mask } = this;
    let slot = (h ^ (h >>> 15)) & mask;
    for (;;) {
      const off = offsets[slot];
      if (off < 0) break;
      if (hashes[slot] === h && lengths[slot] === len) {
        let k = 0;
        while (k < len && arena[off + k] === bytes[start + k]) k++;
        if (k === len) {
          this.counts[slot] += n;
          return;
        }
      }
      slot = (slot + 1) & mask;
    }
    if (this.used + len > arena.length) {
      const bigger = new Uint8Array(Math.max(arena.length * 2, this.used + len));
      bigger.set(arena.subarray(0, this.used));
      this.arena = bigger;
    }
    this.arena.set(bytes.subarray(start, end), this.used);
    hashes[slot] = h;
    offsets[slot] = this.used;
    lengths[slot] = len;
    this.counts[slot] = n;
    this.used += len;
    if (++this.size * 2 > mask) this.grow();
  }

  grow() {
    const bits = Math.log2(this.mask + 1) + 1;
    const mask = (1 << bits) - 1;
    const hashes = new Int32Array(1 << bits);
    const offsets = new Int32Array(1 << bits).fill(-1);
    const lengths = new Int32Array(1 << bits);
    const counts = new Float64Array(1 << bits);
    for (let s = 0; s <= this.mask; s++) {
      if (this.offsets[s] < 0) continue;
      let slot = (this.hashes[s] ^ (this.hashes[s] >>> 15)) & mask;
      while (offsets[slot] >= 0) slot = (slot + 1) & mask;
      hashes[slot] = this.hashes[s];
      offsets[slot] = this.offsets[s];
      lengths[slot] = this.lengths[s];
      counts[slot] = this.counts[s];
    }
    Object.assign(this, { mask, hashes, offsets, lengths, counts });
  }

  /** Adds a word given as a string (the Unicode path). */
  addString(word, n = 1) {
    const bytes = Buffer.from(word, 'utf8');
    let h = FNV_OFFSET;
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], FNV_PRIME);
    this.add(bytes, 0, bytes.length, h, n);
  }

  /** The table as transferable arrays: the arena, and each word's offset, length and count. */
  export() {
    const offsets = new Int32Array(this.size);
    const lengths = new Int32Array(this.size);
    const counts = new Float64Array(this.size);
    let j = 0;
    for (let s = 0; s <= this.mask; s++) {
      if (this.offsets[s] < 0) continue;
      offsets[j] = this.offsets[s];
      lengths[j] = this.lengths[s];
      counts[j++] = this.counts[s];
    }
    return { arena: this.arena.slice(0, this.used), offsets, lengths, counts };
  }
}

const BLOCK = 8 << 20;

/** Code points that are word characters (1) or not (2), learnt from the regular expression as met; 0 unknown. */
const WORD_CP = new Uint8Array(0x110000);
const isWordCp = (cp) => (WORD_CP[cp] ||= /^[\p{L}\p{N}_]$/u.test(String.fromCodePoint(cp)) ? 1 : 2) === 1;
/** Capital sigma: lower-cased by its context (final or not), so its line goes through the line-wide path. */
const SIGMA = 0x3a3;

/**
 * Counts the words of a worker's segments ({ file, start, end }, line-aligned), scanning bytes.
 * A word is counted when its line ends: `pending` holds (start, end, hash, unicode) of the line's
 * words. ASCII words are counted from their bytes; a word holding other letters is decoded,
 * lower-cased and matched (lower-casing may split it: İ becomes i and a combining dot); a line
 * with a capital sigma, whose lower case depends on what surrounds it, is matched whole.
 */
function countSegments(segments) {
  const table = new Counts();
  let tokens = 0;
  let buf = Buffer.allocUnsafe(BLOCK);
  let pending = new Int32Array(4 * 4096);
  for (const { file, start, end } of segments) {
    const fd = fs.openSync(file, 'r');
    let pos = start;
    let held = 0;
    while (pos < end || held > 0) {
      let filled = held;
      if (pos < end) {
        if (held === buf.length) {
          const bigger = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(bigger, 0, 0, held);
          buf = bigger;
        }
        const n = fs.readSync(fd, buf, held, Math.min(buf.length - held, end - pos), pos);
        if (n === 0) pos = end;
        pos += n;
        filled += n;
      }
      // Whole lines only, but for the segment's last bytes.
      const last = pos >= end ? filled : buf.lastIndexOf(10, filled - 1) + 1;
      if (last === 0) {
        held = filled; // a line longer than the buffer: read on
        continue;
      }
      let lineStart = 0;
      let np = 0;
      let wStart = -1;
      let h = 0;
      let unicode = 0;
      let sigma = false;
      const endLine = (lineEnd) => {
        if (sigma) tokens += lineWords(table, buf, lineStart, lineEnd);
        else
          for (let p = 0; p < np; p += 4) {
            if (pending[p + 3] === 0) {
              table.add(buf, pending[p], pending[p + 1], pending[p + 2], 1);
              tokens++;
            } else tokens += lineWords(table, buf, pending[p], pending[p + 1]);
          }
        np = 0;
        sigma = false;
      };
      const endWord = (wordEnd) => {
        if (np + 4 > pending.length) {
          const bigger = new Int32Array(pending.length * 2);
          bigger.set(pending);
          pending = bigger;
        }
        pending[np++] = wStart;
        pending[np++] = wordEnd;
        pending[np++] = h;
        pending[np++] = unicode;
        wStart = -1;
        unicode = 0;
      };
      for (let i = 0; i < last; i++) {
        const c = buf[i];
        if (c < 128) {
          const t = LOWER[c];
          if (t !== 0) {
            if (wStart < 0) {
              wStart = i;
              h = FNV_OFFSET;
            }
            if (t !== c) buf[i] = t; // lower-cased in place: the table keeps lower-case bytes
            h = Math.imul(h ^ t, FNV_PRIME);
          } else {
            if (wStart >= 0) endWord(i);
            if (c === 10) {
              endLine(i);
              lineStart = i + 1;
            }
          }
          continue;
        }
        // A UTF-8 sequence: its code point decides whether it continues a word. Bytes that are
        // not valid UTF-8 decode as U+FFFD, not a word character: one byte at a time will do.
        let cp = -1;
        let len = 1;
        if (c >= 0xc2 && c < 0xe0 && i + 1 < last && (buf[i + 1] & 0xc0) === 0x80) {
          cp = ((c & 0x1f) << 6) | (buf[i + 1] & 0x3f);
          len = 2;
        } else if (
          c >= 0xe0 &&
          c < 0xf0 &&
          i + 2 < last &&
          (buf[i + 1] & 0xc0) === 0x80 &&
          (buf[i + 2] & 0xc0) === 0x80
        ) {
          cp = ((c & 0x0f) << 12) | ((buf[i + 1] & 0x3f) << 6) | (buf[i + 2] & 0x3f);
          if (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000)) cp = -1;
          else len = 3;
        } else if (
          c >= 0xf0 &&
          c < 0xf5 &&
          i + 3 < last &&
          (buf[i + 1] & 0xc0) === 0x80 &&
          (buf[i + 2] & 0xc0) === 0x80 &&
          (buf[i + 3] & 0xc0) === 0x80
        ) {
          cp = ((c & 0x07) << 18) | ((buf[i + 1] & 0x3f) << 12) | ((buf[i + 2] & 0x3f) << 6) | (buf[i + 3] & 0x3f);
          if (cp < 0x10000 || cp > 0x10ffff) cp = -1;
          else len = 4;
        }
        if (cp === SIGMA) sigma = true;
        if (cp >= 0 && isWordCp(cp)) {
          if (wStart < 0) wStart = i;
          unicode = 1;
        } else if (wStart >= 0) endWord(i);
        i += len - 1;
      }
      // A last line without a newline (the end of the segment).
      if (lineStart < last) {
        if (wStart >= 0) endWord(last);
        endLine(last);
      }
      buf.copy(buf, 0, last, filled);
      held = filled - last;
    }
    fs.closeSync(fd);
  }
  return { table, tokens };
}

/** Bytes that go through the regular expression: decoded, lower-cased and matched as the job does. Their word count. */
function lineWords(table, buf, start, end) {
  const words = buf.toString('utf8', start, end).toLowerCase().match(WORD);
  if (!words) return 0;
  for (const w of words) table.addString(w);
  return words.length;
}

if (!isMainThread) {
  const { table, tokens } = countSegments(workerData.segments);
  const out = table.export();
  parentPort.postMessage({ ...out, tokens }, [
    out.arena.buffer,
    out.offsets.buffer,
    out.lengths.buffer,
    out.counts.buffer,
  ]);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}

async function main(argv) {
  const t0 = performance.now();
  let workers = 1;
  let output;
  let json = false;
  const inputs = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--workers') workers = Number(argv[++i]);
    else if (argv[i] === '--output') output = argv[++i];
    else if (argv[i] === '--json') json = true;
    else inputs.push(argv[i]);
  }
  if (!(Number.isInteger(workers) && workers >= 1) || inputs.length === 0) {
    console.error('usage: wordcount.mjs [--workers N] [--output FILE] [--json] <files or directories>');
    process.exit(2);
  }
  const files = inputs.flatMap(inputFiles);
  const ranges = lineRanges(files, workers);
  let total;
  let tokens = 0;
  if (workers === 1) {
    const r = countSegments(ranges[0]);
    total = r.table;
    tokens = r.tokens;
  } else {
    const parts = await Promise.all(
      ranges.map(
        (segments) =>
          new Promise((resolve, reject) => {
            const w = new Worker(fileURLToPath(import.meta.url), { workerData: { segments } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    total = new Counts(17);
    for (const p of parts) {
      tokens += p.tokens;
      for (let j = 0; j < p.offsets.length; j++) {
        const start = p.offsets[j];
        const end = start + p.lengths[j];
        let h = FNV_OFFSET;
        for (let k = start; k < end; k++) h = Math.imul(h ^ p.arena[k], FNV_PRIME);
        total.add(p.arena, start, end, h, p.counts[j]);
      }
    }
  }
  const { arena, offsets, lengths, counts } = total.export();
  const out = Buffer.allocUnsafe(arena.length + offsets.length * 22);
  let at = 0;
  for (let j = 0; j < offsets.length; j++) {
    at += Buffer.from(arena.buffer, arena.byteOffset + offsets[j], lengths[j]).copy(out, at);
    at += out.write(`\t${counts[j]}\n`, at, 'latin1');
  }
  if (output) fs.writeFileSync(output, out.subarray(0, at));
  else process.stdout.write(out.subarray(0, at));
  if (json)
    console.log(JSON.stringify({ workers, words: offsets.length, tokens, seconds: (performance.now() - t0) / 1000 }));
}
