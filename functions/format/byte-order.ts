import { partitionOfBytes } from './hash.js';

/** Ties this small are sorted by insertion; larger ones (keys sharing long prefixes) by a merge sort. */
const INSERTION = 16;
/** Positions that fit beside a fifth prefix byte in a key's low 32 bits (24 bits). */
const FIVE_BYTE_POSITIONS = 2 ** 24;
/** Positions the order (an Int32Array) can hold. */
const MAX_POSITIONS = 2 ** 31;

/**
 * The order of byte strings arena[offsets[x], offsets[x] + lengths[x]) by their bytes (shorter
 * first where one begins the other), as positions x; equal strings keep their positions' order.
 * partitionedOrder with one partition.
 */
export function byteOrder(
  arena: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  /** see FIVE_BYTE_POSITIONS (tests make it small) */
  fiveBytePositions = FIVE_BYTE_POSITIONS,
): Int32Array {
  return partitionedOrder(arena, offsets, lengths, 1, fiveBytePositions).order;
}

/**
 * Sorts order[lo, hi) by insertion (small ranges; stable), by compareFrom. It calls compareFrom
 * itself: through a comparator function passed in, it cost about three times as much (the bench
 * table's 42,000 words in small ties: ~21 ms against ~8, warm).
 */
function insertionSortFrom(
  order: Int32Array,
  lo: number,
  hi: number,
  arena: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  depth: number,
): void {
  for (let i = lo + 1; i < hi; i++) {
    const v = order[i]!;
    let j = i - 1;
    for (; j >= lo && compareFrom(arena, offsets, lengths, depth, order[j]!, v) > 0; j--) order[j + 1] = order[j]!;
    order[j + 1] = v;
  }
}

/**
 * The order of the strings at positions a and b, which tie on their first `depth` bytes (or on
 * all they have and zeros after): by the bytes after, shorter first where one begins the other.
 */
function compareFrom(
  arena: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  depth: number,
  a: number,
  b: number,
): number {
  const oa = offsets[a]!;
  const ob = offsets[b]!;
  const la = lengths[a]!;
  const lb = lengths[b]!;
  const m = Math.min(la, lb);
  for (let k = depth; k < m; k++) {
    const d = arena[oa + k]! - arena[ob + k]!;
    if (d !== 0) return d;
  }
  return la - lb;
}

/**
 * Keys arena[offsets[x], offsets[x] + lengths[x]) in the order a map task writes them: partition
 * after partition (partitionOfBytes, mod R), by bytes within each (shorter first where one
 * begins the other), equal keys by position, as positions x; `ends[p]` is where partition p's
 * positions end.
 *
 * A native sort of 64-bit keys does most of the work: each key is a string's first five bytes
 * (zeros past its end) above its position (four bytes above the position from 2^24 strings on),
 * laid out partition by partition, and each partition's keys are sorted apart. Only strings that
 * tie on those bytes are compared further (in a vocabulary, about half the words share their
 * first five bytes with another). Native keys of three bytes left far more ties to compare in
 * JS, and a radix sort in JS cost three times as much before the compiler got to it: a table
 * writes its keys through here once, and each pass is a loop over them that runs slowly until
 * the compiler has got to it. Measured on the 94,622 words of a bench map task, four partitions,
 * in a fresh thread: ~45 ms, where grouping the partitions into arrays of their own first (one
 * more pass and three more arrays) took ~55 ms.
 */
export function partitionedOrder(
  arena: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  R: number,
  /** see FIVE_BYTE_POSITIONS (tests make it small) */
  fiveBytePositions = FIVE_BYTE_POSITIONS,
): { order: Int32Array; ends: Int32Array } {
  const n = offsets.length;
  if (n > MAX_POSITIONS) throw new RangeError(`partitionedOrder sorts at most ${MAX_POSITIONS} strings at once`);
  // starts[p] is where partition p's keys begin, once counted.
  const starts = new Int32Array(R + 1);
  const partOf = R === 1 ? undefined : new Int32Array(n);
  if (partOf) {
    countPartitions(arena, offsets, lengths, R, partOf, starts);
    for (let p = 1; p <= R; p++) starts[p]! += starts[p - 1]!;
  } else starts[1] = n;
  const prefix = n <= fiveBytePositions ? 5 : 4;
  const keys = new BigUint64Array(n);
  // Little-endian halves of each key: [2y] the low word, [2y + 1] the high one.
  const words = new Uint32Array(keys.buffer);
  layOutKeys(arena, offsets, lengths, partOf, starts.slice(0, R), prefix, words);
  for (let p = 0; p < R; p++) if (starts[p + 1]! - starts[p]! > 1) keys.subarray(starts[p]!, starts[p + 1]!).sort();
  // Read back as int32s: a word at or above 2^31 read as a uint32 is a double, which V8's fast
  // code for these passes does not expect (it falls back to slow code at the first).
  const signed = new Int32Array(keys.buffer);
  const order = positionsOf(signed, n, prefix === 5 ? 0xffffff : -1);
  const compare = (a: number, b: number) => compareFrom(arena, offsets, lengths, prefix, a, b);
  for (let p = 0; p < R; p++)
    sortTies(order, signed, starts[p]!, starts[p + 1]!, prefix, arena, offsets, lengths, compare);
  return { order, ends: starts.subarray(1) };
}

// Each pass over the keys is a function of its own: the compiler replaces a loop that has run
// long enough with fast code for the whole function, which then falls back to slow code at the
// first statement after the loop that has never run (V8's "insufficient type feedback"), and
// the next loop is compiled again from scratch. A pass per function is compiled once.

/** starts[p + 1] = how many keys fall in partition p; partOf[x] = key x's partition. */
function countPartitions(
  arena: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  R: number,
  partOf: Int32Array,
  starts: Int32Array,
): void {
  for (let x = 0; x < offsets.length; x++) {
    const p = partitionOfBytes(arena, offsets[x]!, offsets[x]! + lengths[x]!, R);
    partOf[x] = p;
    starts[p + 1]!++;
  }
}

/** Each key's sort key (see partitionedOrder) at its place in its partition; `next[p]` is where partition p's next goes. */
function layOutKeys(
  arena: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  partOf: Int32Array | undefined,
  next: Int32Array,
  prefix: number,
  words: Uint32Array,
): void {
  for (let x = 0; x < offsets.length; x++) {
    const y = partOf ? next[partOf[x]!]!++ : x;
    const off = offsets[x]!;
    const len = lengths[x]!;
    const b0 = len > 0 ? arena[off]! : 0;
    const b1 = len > 1 ? arena[off + 1]! : 0;
    const b2 = len > 2 ? arena[off + 2]! : 0;
    const b3 = len > 3 ? arena[off + 3]! : 0;
    words[2 * y + 1] = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
    words[2 * y] = prefix === 5 ? (((len > 4 ? arena[off + 4]! : 0) << 24) | x) >>> 0 : x;
  }
}

/** The positions in the sorted keys' low words. */
function positionsOf(words: Int32Array, n: number, positionMask: number): Int32Array {
  const order = new Int32Array(n);
  for (let y = 0; y < n; y++) order[y] = words[2 * y]! & positionMask;
  return order;
}

/**
 * Sorts each run of keys of order[start, end) (one partition) equal above their positions:
 * strings that tie on their first `prefix` bytes, by their bytes.
 */
function sortTies(
  order: Int32Array,
  words: Int32Array,
  start: number,
  end: number,
  prefix: number,
  arena: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  compare: (a: number, b: number) => number,
): void {
  for (let x = start; x < end; ) {
    const high = words[2 * x + 1]!;
    const fifth = prefix === 5 ? words[2 * x]! >>> 24 : 0;
    let y = x + 1;
    while (y < end && words[2 * y + 1] === high && (prefix === 4 || words[2 * y]! >>> 24 === fifth)) y++;
    if (y - x > INSERTION) order.subarray(x, y).sort(compare);
    else if (y - x > 1) insertionSortFrom(order, x, y, arena, offsets, lengths, prefix);
    x = y;
  }
}
