/**
 * MurmurHash3 x86 32-bit of a string's UTF-8 bytes, computed without encoding the string.
 * It is the partitioner's hash (the same in every process, machine and runtime) and the
 * hashing vectorizer's (scikit-learn uses this function with seed 0).
 */
export function murmur3(text: string, seed = 0): number {
  let h = seed | 0;
  let k = 0; // bytes of the current 4-byte block, little-endian
  let n = 0; // bytes in the current block
  let len = 0;
  const mix = (b: number) => {
    k |= b << (n << 3);
    if (++n === 4) {
      h = mixBlock(h, k);
      k = 0;
      n = 0;
    }
    len++;
  };
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) mix(c);
    else if (c < 0x800) {
      mix(0xc0 | (c >> 6));
      mix(0x80 | (c & 63));
    } else {
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          mix(0xf0 | (c >> 18));
          mix(0x80 | ((c >> 12) & 63));
          mix(0x80 | ((c >> 6) & 63));
          mix(0x80 | (c & 63));
          continue;
        }
      }
      // A lone surrogate encodes as U+FFFD, as Buffer.from(text) does.
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      mix(0xe0 | (c >> 12));
      mix(0x80 | ((c >> 6) & 63));
      mix(0x80 | (c & 63));
    }
  }
  return finish(h, k, n, len);
}

/** MurmurHash3 x86 32-bit of bytes[start, end): equals `murmur3(text)` when they are text's UTF-8. */
export function murmur3Bytes(bytes: Uint8Array, start: number, end: number, seed = 0): number {
  let h = seed | 0;
  const len = end - start;
  const blocks = start + (len & ~3);
  let i = start;
  for (; i < blocks; i += 4)
    h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  let k = 0;
  for (let shift = 0; i < end; i++, shift += 8) k |= bytes[i]! << shift;
  return finish(h, k, len & 3, len);
}

function scramble(k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, 0x1b873593);
}

/** Mixes one 4-byte block `k` into `h`. */
function mixBlock(h: number, k: number): number {
  h ^= scramble(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Mixes in the `tail` bytes of the last block `k` and the length, and finalises. */
function finish(h: number, k: number, tail: number, len: number): number {
  if (tail > 0) h ^= scramble(k);
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** The reduce partition of an encoded key. */
export function partitionOf(encodedKey: string, reducers: number): number {
  return (murmur3(encodedKey) >>> 0) % reducers;
}

/** The reduce partition of an encoded key given as its UTF-8 bytes[start, end). */
export function partitionOfBytes(bytes: Uint8Array, start: number, end: number, reducers: number): number {
  return (murmur3Bytes(bytes, start, end) >>> 0) % reducers;
}
