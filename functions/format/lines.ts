import { constants, isAscii, isUtf8 } from 'node:buffer';
import { zlib } from '../builtins.js';
import { DEFAULTS } from '../config.js';
import { MalformedRecordError, RecordTooLargeError, UnsupportedCompressionError } from '../errors.js';
import type { Storage } from '../storage/index.js';

/** A byte range of one input object, as the plan cuts it. */
export interface Chunk {
  readonly uri: string;
  readonly start: number;
  readonly end: number;
  /** The object's size in bytes. */
  readonly size: number;
  /** Gzip-compressed: always the whole object, decompressed while streaming. */
  readonly gzip?: boolean;
}

/**
 * Called with each line and the byte offset of its start in the object (in the decompressed
 * stream for gzip); may return a promise (then it is awaited before the next line).
 */
export type LineSink = (line: string, offset: number) => unknown;

const NL = 10;
const isThenable = (x: unknown): x is PromiseLike<unknown> =>
  x !== undefined && x !== null && typeof (x as PromiseLike<unknown>).then === 'function';

/**
 * Calls `sink` with every line of a chunk that the line rule (Hadoop's LineRecordReader, DESIGN
 * §2) gives it: a chunk [start, end) skips its first line unless start == 0, and reads every
 * line that starts at or before `end`, reading past `end` to finish the last one. Lines end at
 * LF; a CR before it is dropped (CRLF). A UTF-8 byte-order mark at the start of an object is
 * dropped. Invalid UTF-8 becomes U+FFFD.
 *
 * Returns the number of bytes the lines took (their terminators included).
 */
export async function readLines(
  storage: Storage,
  chunk: Chunk,
  sink: LineSink,
  options: ReadOptions = {},
): Promise<number> {
  // Its lines are strings, copies of the block's bytes.
  return readLineBlocks(storage, chunk, { ...options, sinkCopies: true }, async (bytes, at) => {
    // A block of ASCII becomes one string whose slices are the lines. Any other block is decoded
    // a line at a time: one character above U+00FF makes V8 store a whole string two bytes per
    // character, and its slices with it, and lower-casing, splitting and hashing those costs far
    // more (a user's word count ran 1.6x faster on real text with ~1% such lines). Lines end at
    // LF, which is never inside a UTF-8 sequence, so both decode the same characters.
    if (isAscii(bytes)) {
      const text = bytes.toString('latin1');
      for (let i = 0; i < text.length; ) {
        let j = text.indexOf('\n', i);
        if (j < 0) j = text.length; // the object's last line, without LF
        const r = sink(j > i && text.charCodeAt(j - 1) === CR ? text.slice(i, j - 1) : text.slice(i, j), at + i);
        if (isThenable(r)) await r;
        i = j + 1;
      }
      return;
    }
    for (let i = 0; i < bytes.length; ) {
      let j = bytes.indexOf(NL, i);
      if (j < 0) j = bytes.length;
      const r = sink(bytes.toString('utf8', i, j > i && bytes[j - 1] === CR ? j - 1 : j), at + i);
      if (isThenable(r)) await r;
      i = j + 1;
    }
  });
}

/**
 * A block of whole lines (see BlockSink) as readLines hands its lines on, each then written with
 * a LF: a CR before a LF dropped, invalid UTF-8 as U+FFFD, a LF after an object's last line that
 * has none. Most blocks need none of that and are returned as they are. Also counts the lines.
 */
export function linesAsWritten(block: Buffer): { bytes: Buffer; lines: number } {
  if (isUtf8(block) && block.indexOf(CR) < 0) {
    let lines = 0;
    for (let i = block.indexOf(NL); i >= 0; i = block.indexOf(NL, i + 1)) lines++;
    if (block.length > 0 && block[block.length - 1] !== NL)
      return { bytes: Buffer.concat([block, LF]), lines: lines + 1 };
    return { bytes: block, lines };
  }
  const text = block.toString('utf8');
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    let j = text.indexOf('\n', i);
    if (j < 0) j = text.length; // the object's last line, without LF
    out.push(j > i && text.charCodeAt(j - 1) === 13 ? text.slice(i, j - 1) : text.slice(i, j), '\n');
    i = j + 1;
  }
  return { bytes: Buffer.from(out.join('')), lines: out.length / 2 };
}

const CR = 13;
const LF = Buffer.from('\n');

/**
 * Called with blocks of whole lines of the chunk (by the line rule of readLines): every line of
 * a block ends with LF, bar the last line of an object that has none. The byte-order mark is
 * already gone. `at` is the block's offset in the object (in the decompressed stream for gzip).
 * The block is the callee's to change (it is not read again). May return a promise.
 */
export type BlockSink = (bytes: Buffer, at: number) => unknown;

/**
 * The line rule of readLines on bytes: hands the chunk's lines to `sink` in blocks as they
 * arrive (a few MiB each), for readers that tokenise bytes without making a string per line.
 * Returns the number of bytes the lines took.
 */
export async function readLineBlocks(
  storage: Storage,
  chunk: Chunk,
  options: ReadOptions,
  sink: BlockSink,
): Promise<number> {
  const check = options.strictUtf8 ? strictUtf8(chunk) : undefined;
  if (chunk.gzip) {
    await refuseUnreadableCompression(storage, chunk);
    return splitBlocks(gunzip(storage, chunk.uri), 0, Number.POSITIVE_INFINITY, sink, chunk.uri, check);
  }
  if (chunk.start === 0 && chunk.end >= chunk.size && chunk.size <= WHOLE_NOW_BYTES && storage.readNow) {
    // Taken while in use: a read that overlaps this one (no caller does) gets a buffer of its own.
    const into = options.sinkCopies ? (spare ?? Buffer.allocUnsafe(WHOLE_NOW_BYTES)) : undefined;
    spare = undefined;
    try {
      const bytes = storage.readNow(chunk.uri, { start: 0, end: chunk.size }, into);
      const r = wholeObjectNow(bytes, chunk, sink, check);
      if (isThenable(r)) await r;
      return bytes.length;
    } finally {
      if (into) spare = into;
    }
  }
  // A chunk that starts the object has its first bytes checked as they pass: a request of their
  // own would double the requests of a split of many small objects (short documents).
  if (chunk.start > 0) await refuseUnreadableCompression(storage, chunk);
  const bytes = rangeWithOverread(storage, chunk);
  const source = chunk.start === 0 ? headChecked(bytes, chunk) : bytes;
  return splitBlocks(source, chunk.start, chunk.end, sink, chunk.uri, check);
}

/**
 * A whole object up to this size, from storage that reads without waiting (local files), is
 * read at once and handed on as one block: each object of a split of short documents went
 * through three async iterators and a dozen awaits, more than its words took to count.
 */
const WHOLE_NOW_BYTES = 4 << 20;

/**
 * The thread's buffer for whole objects read at once, for sinks that copy what they keep: a
 * new buffer for each object cost its pages' first faults (reading 64 MiB of 4 MiB objects
 * took 77-270 ms into new buffers, 11-29 ms into one reused).
 */
let spare: Buffer | undefined;

/**
 * A whole object's bytes by the line rule: all its lines, one block (its last line may have no
 * LF), after the compression check, the byte-order mark dropped.
 */
function wholeObjectNow(bytes: Buffer, chunk: Chunk, sink: BlockSink, check?: Utf8Check): unknown {
  refuseCompressedHead(chunk, bytes.subarray(0, HEAD_BYTES));
  let at = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) at = 3;
  const block = at === 0 ? bytes : bytes.subarray(at);
  check?.(block, at);
  return block.length === 0 ? undefined : sink(block, at);
}

export interface ReadOptions {
  /** Fail on invalid UTF-8 instead of reading it as U+FFFD. @default false */
  strictUtf8?: boolean;
  /**
   * The sink keeps no block past its return (or its promise's settling): a block may then be
   * a buffer the next read reuses. @default false
   */
  sinkCopies?: boolean;
}

/** Leading bytes of compressed formats Streaming cannot read (and of gzip, readable when named .gz). */
const MAGIC: { codec: string; bytes: number[]; test?: (b: Uint8Array) => boolean }[] = [
  { codec: 'gzip', bytes: [0x1f, 0x8b] },
  { codec: 'bzip2', bytes: [0x42, 0x5a, 0x68], test: (b) => b[3] !== undefined && b[3] >= 0x31 && b[3] <= 0x39 },
  { codec: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { codec: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { codec: 'lz4', bytes: [0x04, 0x22, 0x4d, 0x18] },
  { codec: 'zip', bytes: [0x50, 0x4b, 0x03, 0x04] },
  { codec: '7z', bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
];

/** The compression format an object's first bytes announce, if any. */
export function compressionOf(head: Uint8Array): string | undefined {
  return MAGIC.find((m) => m.bytes.every((b, i) => head[i] === b) && (m.test?.(head) ?? true))?.codec;
}

/**
 * Reads the object's first bytes and refuses a compressed object that would otherwise be read
 * as text: never raw bytes for records.
 */
async function refuseUnreadableCompression(storage: Storage, chunk: Chunk): Promise<void> {
  const head = Buffer.alloc(Math.min(HEAD_BYTES, chunk.size));
  let n = 0;
  for await (const b of storage.read(chunk.uri, { start: 0, end: head.length })) {
    head.set(b.subarray(0, head.length - n), n);
    n += Math.min(b.length, head.length - n);
  }
  refuseCompressedHead(chunk, head.subarray(0, n));
}

/** The chunk's bytes as `source` gives them, its object's first HEAD_BYTES checked before any is passed on. */
async function* headChecked(source: AsyncIterable<Uint8Array>, chunk: Chunk): AsyncIterable<Uint8Array> {
  const want = Math.min(HEAD_BYTES, chunk.size);
  let held: Uint8Array[] | undefined = [];
  let n = 0;
  for await (const b of source) {
    if (held === undefined) {
      yield b;
      continue;
    }
    held.push(b);
    n += b.length;
    if (n < want) continue;
    // Only the head is copied: the first block can be megabytes.
    refuseCompressedHead(chunk, Buffer.concat(held, want));
    yield* held;
    held = undefined;
  }
  if (held !== undefined) {
    refuseCompressedHead(chunk, Buffer.concat(held));
    yield* held;
  }
}

const HEAD_BYTES = 8;

function refuseCompressedHead(chunk: Chunk, head: Buffer): void {
  const codec = compressionOf(head);
  if (codec === undefined || (codec === 'gzip' && chunk.gzip)) return;
  const hex = [...head.subarray(0, 4)].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  if (codec === 'gzip')
    throw new UnsupportedCompressionError(
      chunk.uri,
      codec,
      `its first bytes are ${hex}`,
      'Name it with the .gz extension so it is read as one gzip stream.',
    );
  const zstd = codec === 'zstd' && !('createZstdDecompress' in zlib()) ? ' (this Node.js has no zstd)' : '';
  throw new UnsupportedCompressionError(chunk.uri, codec, `its first bytes are ${hex}${zstd}`);
}

/** Checks bytes about to be decoded; `at` is their position in the object (in the decompressed stream for gzip). */
type Utf8Check = (bytes: Uint8Array, at: number) => void;

function strictUtf8(chunk: Chunk): Utf8Check {
  return (bytes, at) => {
    if (isUtf8(bytes)) return;
    throw new MalformedRecordError(
      chunk.uri,
      at,
      `invalid UTF-8 in a line starting at byte ${at}${chunk.gzip ? ' of the decompressed data' : ''}; strict UTF-8 is on (without it, invalid bytes read as U+FFFD)`,
    );
  };
}

async function* gunzip(storage: Storage, uri: string): AsyncIterable<Uint8Array> {
  const z = zlib().createGunzip();
  const feed = (async () => {
    try {
      for await (const b of storage.read(uri)) if (!z.write(b)) await new Promise((r) => z.once('drain', r));
      z.end();
    } catch (e) {
      z.destroy(e as Error);
    }
  })();
  try {
    yield* z;
  } catch (e) {
    // zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR: corrupt or truncated data) are the input's fault.
    if (typeof (e as { errno?: unknown }).errno === 'number' && String((e as { code?: unknown }).code).startsWith('Z_'))
      throw new MalformedRecordError(uri, 0, `corrupt gzip data (${(e as Error).message})`);
    throw e;
  }
  await feed;
}

/** The chunk's bytes, then more past its end, as long as the consumer keeps pulling. */
async function* rangeWithOverread(storage: Storage, chunk: Chunk): AsyncIterable<Uint8Array> {
  yield* storage.read(chunk.uri, { start: chunk.start, end: chunk.end });
  for (let pos = chunk.end; pos < chunk.size; pos += DEFAULTS.overreadBytes) {
    yield* storage.read(chunk.uri, { start: pos, end: Math.min(chunk.size, pos + DEFAULTS.overreadBytes) });
  }
}

/** The longest line read: a longer one could not become a string. */
const MAX_LINE_BYTES = constants.MAX_STRING_LENGTH;

async function splitBlocks(
  source: AsyncIterable<Uint8Array>,
  start: number,
  end: number,
  sink: BlockSink,
  uri: string,
  check?: Utf8Check,
): Promise<number> {
  let bpos = start; // absolute position of the current buffer's first byte
  let skipping = start > 0;
  let bomCheck = start === 0; // the first line of an object may begin with a byte-order mark
  let partial: Uint8Array[] = []; // an unfinished line's pieces
  let partialBytes = 0;
  let consumed = 0;

  /** Hands whole lines to the sink, `at` their position in the object. */
  const deliver = (block: Buffer, at: number): unknown => {
    if (bomCheck) {
      bomCheck = false;
      if (block[0] === 0xef && block[1] === 0xbb && block[2] === 0xbf) {
        block = block.subarray(3);
        at += 3;
      }
    }
    check?.(block, at);
    return block.length === 0 ? undefined : sink(block, at);
  };
  /**
   * Keeps the piece of an unfinished line that ends the current buffer, refusing a line no
   * string could hold before holding all of it.
   */
  const keep = (piece: Uint8Array) => {
    partial.push(piece);
    partialBytes += piece.length;
    if (partialBytes > MAX_LINE_BYTES + 1) throw new RecordTooLargeError(uri, bpos - partialBytes, MAX_LINE_BYTES);
  };

  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = await iterator.next();
      if (step.done) break;
      const b = step.value;
      const here = bpos;
      bpos += b.length;
      let i = 0;
      if (skipping) {
        const nl = b.indexOf(NL);
        if (nl < 0) continue;
        i = nl + 1;
        skipping = false;
        if (here + i > end) return consumed; // the first line of ours would start past the end
      }
      // Stop after the first newline at or after `end`: the line holding `end` is ours, the next is not.
      let cut = b.length;
      let done = false;
      if (bpos > end) {
        const nl = b.indexOf(NL, Math.max(i, end - here));
        if (nl >= 0) {
          cut = nl + 1;
          done = true;
        }
      }
      const lastNl = b.lastIndexOf(NL, cut - 1);
      if (lastNl < i) {
        if (cut > i) keep(b.subarray(i, cut));
      } else {
        if (partialBytes > 0) {
          // The partial line's end joins it as a block of its own; the rest goes on uncopied.
          const firstNl = b.indexOf(NL, i);
          // The line, its CR and LF aside, must fit a string.
          if (partialBytes + firstNl - i > MAX_LINE_BYTES + 1)
            throw new RecordTooLargeError(uri, here + i - partialBytes, MAX_LINE_BYTES);
          partial.push(b.subarray(i, firstNl + 1));
          const head = Buffer.concat(partial, partialBytes + firstNl + 1 - i);
          const r = deliver(head, here + i - partialBytes);
          if (isThenable(r)) await r;
          consumed += head.length;
          partial = [];
          partialBytes = 0;
          i = firstNl + 1;
        }
        if (lastNl + 1 > i) {
          const r = deliver(toBuffer(b).subarray(i, lastNl + 1), here + i);
          if (isThenable(r)) await r;
          consumed += lastNl + 1 - i;
        }
        if (cut > lastNl + 1) keep(b.subarray(lastNl + 1, cut));
      }
      if (done) return consumed + partialBytes;
    }
  } finally {
    await iterator.return?.();
  }
  if (partialBytes > 0 && !skipping) {
    consumed += partialBytes;
    const r = deliver(Buffer.concat(partial, partialBytes), bpos - partialBytes);
    if (isThenable(r)) await r;
  }
  return consumed;
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}
