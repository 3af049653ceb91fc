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
 *
 * A native sort of 64-bit keys does most of the work: each key is a string's first five bytes
 * (zeros past its end) above its position (four bytes above the position from 2^24 strings
 * on). Only strings that tie on those bytes are compared further, and few do. Measured on the
 * 94,622 words of the bench corpus: ~12 ms, where native keys of three bytes took ~25 ms (most
 * of it comparing their many ties in JS) and a radix sort in JS, as fast once compiled, took
 * ~65 ms in a map task's one table write, before the compiler got to it.
 */
export function byteOrder(
  arena: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  /** see FIVE_BYTE_POSITIONS (tests make it small) */
  fiveBytePositions = FIVE_BYTE_POSITIONS,
): Int32Array {
  const n = offsets.length;
  if (n > MAX_POSITIONS) throw new RangeError(`byteOrder sorts at most ${MAX_POSITIONS} strings at once`);
  const prefix = n <= fiveBytePositions ? 5 : 4;
  const keys = new BigUint64Array(n);
  // Little-endian halves of each key: [2x] the low word, [2x + 1] the high one.
  const words = new Uint32Array(keys.buffer);
  for (let x = 0; x < n; x++) {
    const off = offsets[x]!;
    const len = lengths[x]!;
    const b0 = len > 0 ? arena[off]! : 0;
    const b1 = len > 1 ? arena[off + 1]! : 0;
    const b2 = len > 2 ? arena[off + 2]! : 0;
    const b3 = len > 3 ? arena[off + 3]! : 0;
    words[2 * x + 1] = ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
    words[2 * x] = prefix === 5 ? (((len > 4 ? arena[off + 4]! : 0) << 24) | x) >>> 0 : x;
  }
  keys.sort();
  const positionMask = prefix === 5 ? 0xffffff : -1;
  const order = new Int32Array(n);
  for (let y = 0; y < n; y++) order[y] = words[2 * y]! & positionMask;
  // Runs of keys equal above their positions: strings that tie on their first `prefix` bytes.
  const compare = comparingFrom(arena, offsets, lengths, prefix);
  for (let x = 0; x < n; ) {
    const high = words[2 * x + 1]!;
    const fifth = prefix === 5 ? words[2 * x]! >>> 24 : 0;
    let y = x + 1;
    while (y < n && words[2 * y + 1] === high && (prefix === 4 || words[2 * y]! >>> 24 === fifth)) y++;
    if (y - x > INSERTION) order.subarray(x, y).sort(compare);
    else if (y - x > 1) insertionSort(order, x, y, compare);
    x = y;
  }
  return order;
}

/** Sorts order[lo, hi) by `compare`, by insertion (small ranges); stable. */
function insertionSort(order: Int32Array, lo: number, hi: number, compare: (a: number, b: number) => number): void {
  for (let i = lo + 1; i < hi; i++) {
    const v = order[i]!;
    let j = i - 1;
    while (j >= lo && compare(order[j]!, v) > 0) {
      order[j + 1] = order[j]!;
      j--;
    }
    order[j + 1] = v;
  }
}

/** Compares the strings at two positions that tie on their first `depth` bytes (or on all they have and zeros after). */
function comparingFrom(
  arena: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  depth: number,
): (a: number, b: number) => number {
  return (a, b) => {
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
  };
}

/**
 * Keys arena[offsets[x], offsets[x] + lengths[x]) in the order a map task writes them: partition
 * after partition (partitionOfBytes, mod R), by bytes within each (byteOrder), as positions x;
 * `ends[p]` is where partition p's positions end. The positions are grouped by a counting pass
 * into typed arrays: a table writes its keys through here once, mostly before the compiler has
 * got to it.
 */
export function partitionedOrder(
  arena: Uint8Array,
  offsets: Int32Array,
  lengths: Int32Array,
  R: number,
): { order: Int32Array; ends: Int32Array } {
  const n = offsets.length;
  const partOf = new Int32Array(n);
  const starts = new Int32Array(R + 1);
  for (let x = 0; x < n; x++) {
    const p = R === 1 ? 0 : partitionOfBytes(arena, offsets[x]!, offsets[x]! + lengths[x]!, R);
    partOf[x] = p;
    starts[p + 1]!++;
  }
  for (let p = 1; p <= R; p++) starts[p]! += starts[p - 1]!;
  // Each partition's positions, offsets and lengths side by side, for byteOrder.
  const byPartition = new Int32Array(n);
  const partOffsets = new Int32Array(n);
  const partLengths = new Int32Array(n);
  const next = starts.slice();
  for (let x = 0; x < n; x++) {
    const z = next[partOf[x]!]!++;
    byPartition[z] = x;
    partOffsets[z] = offsets[x]!;
    partLengths[z] = lengths[x]!;
  }
  const order = new Int32Array(n);
  for (let p = 0; p < R; p++) {
    const s = starts[p]!;
    const e = starts[p + 1]!;
    const sorted = byteOrder(arena, partOffsets.subarray(s, e), partLengths.subarray(s, e));
    for (let k = 0; k < sorted.length; k++) order[s + k] = byPartition[s + sorted[k]!]!;
  }
  return { order, ends: starts.subarray(1) };
}
