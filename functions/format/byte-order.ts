/** Sort keys are prefix × POSITIONS + position: 24 + 29 bits, exact in a double. */
const POSITIONS = 2 ** 29;

/**
 * The order of byte strings arena[offsets[x], offsets[x] + lengths[x]) by their bytes (shorter
 * first where one begins the other), as positions x. A native numeric sort on (first three
 * bytes, then position) does most of the work; only strings that share their first three bytes
 * are compared further. A string shorter than three bytes is padded with zeros, so it ties with
 * the strings it begins (and with those that go on with zeros) and the length settles it.
 */
export function byteOrder(arena: Uint8Array, offsets: Int32Array, lengths: Int32Array): Int32Array {
  const n = offsets.length;
  if (n >= POSITIONS) throw new RangeError(`byteOrder sorts fewer than ${POSITIONS} strings at once`);
  const keys = new Float64Array(n);
  for (let x = 0; x < n; x++) {
    const off = offsets[x]!;
    const len = lengths[x]!;
    const prefix =
      len === 0 ? 0 : (arena[off]! << 16) | (len > 1 ? arena[off + 1]! << 8 : 0) | (len > 2 ? arena[off + 2]! : 0);
    keys[x] = prefix * POSITIONS + x;
  }
  keys.sort();
  const byBytes = (a: number, b: number): number => {
    const oa = offsets[a]!;
    const ob = offsets[b]!;
    const la = lengths[a]!;
    const lb = lengths[b]!;
    const m = Math.min(la, lb);
    for (let k = 3; k < m; k++) {
      const d = arena[oa + k]! - arena[ob + k]!;
      if (d !== 0) return d;
    }
    return la - lb;
  };
  const order = new Int32Array(n);
  for (let x = 0; x < n; ) {
    const prefix = Math.floor(keys[x]! / POSITIONS);
    let y = x + 1;
    while (y < n && Math.floor(keys[y]! / POSITIONS) === prefix) y++;
    for (let z = x; z < y; z++) order[z] = keys[z]! % POSITIONS;
    if (y - x > 1) order.subarray(x, y).sort(byBytes);
    x = y;
  }
  return order;
}
