/**
 * The open-addressing tables of the map-side tables keyed by bytes (word-count.ts, line-table.ts):
 * SLOT int32s per slot side by side, one cache line per probe: the key's FNV-1a hash, the key's
 * arena offset + 1 (0: an empty slot), and two ints of the table's own. The capacity is a power
 * of two and probing is linear.
 */
export const SLOT = 4;
export const FNV_OFFSET = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

/** The used slots of `old` in a table of twice its capacity, each where probing from its hash finds it. */
export function doubledSlots(old: Int32Array): Int32Array<ArrayBuffer> {
  const slots = new Int32Array(old.length * 2);
  const mask = slots.length / SLOT - 1;
  for (let j = 0; j < old.length; j += SLOT) {
    if (old[j + 1] === 0) continue;
    let i = old[j]! & mask;
    while (slots[i * SLOT + 1] !== 0) i = (i + 1) & mask;
    // Element by element: a subarray per slot made this a tenth of a map task's table costs.
    const k = i * SLOT;
    slots[k] = old[j]!;
    slots[k + 1] = old[j + 1]!;
    slots[k + 2] = old[j + 2]!;
    slots[k + 3] = old[j + 3]!;
  }
  return slots;
}
