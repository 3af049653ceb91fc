/**
 * What the hand-written document baselines share: dealing the input's lines to workers, reading
 * a worker's lines, and scikit-learn's default tokens. Plain Node, no Streaming code: these are
 * the yardsticks the built-in jobs are measured against (bench/run.ts).
 */
import fs from 'node:fs';
import path from 'node:path';

/** The input files of a directory (or one file), in name order, hidden files left out. */
export function inputFiles(input) {
  if (!fs.statSync(input).isDirectory()) return [input];
  return fs
    .readdirSync(input)
    .filter((f) => !f.startsWith('.') && !f.startsWith('_'))
    .sort()
    .map((f) => path.join(input, f));
}

/**
 * The input cut into `n` contiguous byte ranges of nearly equal size, in input order, each a list
 * of segments { file, start, end } whose ends fall at line ends: a line belongs to the range its
 * first byte is in, so every line is read exactly once.
 */
export function lineRanges(files, n) {
  const sizes = files.map((f) => fs.statSync(f).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const cuts = [];
  for (let k = 1; k < n; k++) cuts.push(Math.floor((total * k) / n));
  // Each cut, in file coordinates, moved to the start of the next line.
  const boundaries = cuts.map((cut) => {
    let f = 0;
    let at = cut;
    while (f < files.length - 1 && at >= sizes[f]) at -= sizes[f++];
    return { f, at: at === 0 ? 0 : nextLineStart(files[f], sizes[f], at - 1) };
  });
  const ranges = [];
  let from = { f: 0, at: 0 };
  for (const to of [...boundaries, { f: files.length - 1, at: sizes[files.length - 1] ?? 0 }]) {
    const segments = [];
    for (let f = from.f; f <= to.f; f++) {
      const start = f === from.f ? from.at : 0;
      const end = f === to.f ? to.at : sizes[f];
      if (end > start) segments.push({ file: files[f], start, end });
    }
    ranges.push(segments);
    from = to;
  }
  return ranges;
}

/** The offset just after the first newline at or after `at`, or the file's size. */
function nextLineStart(file, size, at) {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 16);
    for (let pos = at; pos < size; pos += buf.length) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      const nl = buf.subarray(0, n).indexOf(10);
      if (nl >= 0) return pos + nl + 1;
    }
    return size;
  } finally {
    fs.closeSync(fd);
  }
}

const CHUNK = 16 << 20;

/** Calls `fn` with each non-blank line of the range's segments, in order, decoded as UTF-8. */
export function forEachLine(segments, fn) {
  let buf = Buffer.allocUnsafe(CHUNK);
  for (const { file, start, end } of segments) {
    const fd = fs.openSync(file, 'r');
    let pos = start;
    let held = 0; // bytes of an unfinished line at the front of buf
    while (pos < end) {
      if (held === buf.length) buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]);
      const n = fs.readSync(fd, buf, held, Math.min(buf.length - held, end - pos), pos);
      if (n === 0) break; // the file shrank under us: what is there is read
      pos += n;
      const filled = held + n;
      const last = pos >= end ? filled : buf.lastIndexOf(10, filled - 1) + 1;
      linesOf(buf.toString('utf8', 0, last), fn);
      buf.copy(buf, 0, last, filled);
      held = filled - last;
    }
    if (held > 0) linesOf(buf.toString('utf8', 0, held), fn);
    fs.closeSync(fd);
  }
}

function linesOf(text, fn) {
  let s = 0;
  while (s < text.length) {
    let e = text.indexOf('\n', s);
    if (e < 0) e = text.length;
    if (e > s) fn(text.slice(s, e));
    s = e + 1;
  }
}

const TOKEN = /[\p{L}\p{N}_]{2,}/gu;
/** ASCII word characters, lower-cased; 0 for the others. */
const WORD = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9_]/.test(ch)) WORD[c] = ch.toLowerCase().charCodeAt(0);
}

/**
 * Calls `fn` with each token of `text`: runs of 2+ letters, digits or `_` of the lower-cased
 * text. ASCII text is scanned by hand; text with any other character goes through the regular
 * expression (Unicode letters, and lower-casing that depends on context).
 */
export function forEachToken(text, fn) {
  const lower = text.toLowerCase();
  const n = lower.length;
  let start = -1;
  let given = 0;
  for (let i = 0; i < n; i++) {
    const c = lower.charCodeAt(i);
    if (c >= 128) {
      // The tokens before this point were given already.
      const found = lower.match(TOKEN);
      if (found) for (let t = given; t < found.length; t++) fn(found[t]);
      return;
    }
    if (WORD[c] !== 0) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start >= 2) {
        fn(lower.slice(start, i));
        given++;
      }
      start = -1;
    }
  }
  if (start >= 0 && n - start >= 2) fn(lower.slice(start, n));
}

/** A cheap string hash (FNV-1a over UTF-16 code units), to deal terms to partitions. */
export function partitionOf(term, n) {
  let h = 0x811c9dc5;
  for (let i = 0; i < term.length; i++) h = Math.imul(h ^ term.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}

/** Writes strings to a file in large pieces. */
export class Output {
  constructor(file) {
    this.fd = fs.openSync(file, 'w');
    this.parts = [];
    this.size = 0;
  }
  write(s) {
    this.parts.push(s);
    this.size += s.length;
    if (this.size > 4 << 20) this.flush();
  }
  flush() {
    if (this.parts.length) fs.writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
  close() {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/** `--workers N --output DIR <input>` of a baseline. */
export function baselineArgs(argv, usage) {
  let workers = 1;
  let output;
  let input;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--workers') workers = Number(argv[++i]);
    else if (a === '--output') output = argv[++i];
    else input = a;
  }
  if (!input || !output || !(Number.isInteger(workers) && workers >= 1)) {
    process.stderr.write(usage);
    process.exit(2);
  }
  fs.mkdirSync(output, { recursive: true });
  return { workers, output, input };
}
