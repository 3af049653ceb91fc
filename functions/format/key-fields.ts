/**
 * Hadoop's KeyFieldBasedPartitioner and KeyFieldBasedComparator (org.apache.hadoop.mapreduce.
 * lib.partition), the way Hadoop Streaming jobs partition on some key fields and sort on others
 * (secondary sort). Options as in Hadoop: `-k pos1[,pos2]`, pos = `f[.c][opts]` with fields and
 * characters counted from 1 (`.0` in pos2: the field's last character), opts any of `n`
 * (numeric) and `r` (reverse); a bare `-n` / `-r` applies to every -k without options of its
 * own. Fields are separated by `mapreduce.map.output.key.field.separator` (a tab by default).
 * Positions count UTF-8 bytes, as Hadoop's do.
 */

/** One `-k` key specification (KeyFieldHelper.KeyDescription). */
export interface KeySpec {
  beginField: number;
  beginChar: number;
  /** 0: to the end of the key. */
  endField: number;
  /** 0: to the end of the field. */
  endChar: number;
  numeric: boolean;
  reverse: boolean;
}

/** The options could not be parsed; the message says what form they take. */
export class KeySpecError extends Error {}

const FORM = 'give -k pos1[,pos2] where pos is f[.c][n][r] (fields and characters from 1), e.g. -k1,1 -k2,2nr';

/** Parses `mapreduce.partition.key{partitioner,comparator}.options` as KeyFieldHelper.parseOption does. */
export function parseKeySpecs(option: string): KeySpec[] {
  const tokens = option.trim().split(/\s+/).filter(Boolean);
  const global = { numeric: false, reverse: false };
  const specs: KeySpec[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === '-n') global.numeric = true;
    else if (t === '-r') global.reverse = true;
    else if (t === '-nr' || t === '-rn') global.numeric = global.reverse = true;
    else if (t.startsWith('-k')) {
      const arg = t.length === 2 ? tokens[++i] : t.slice(2);
      if (!arg) throw new KeySpecError(`"${t}" needs a position: ${FORM}`);
      specs.push(parseKey(arg));
    } else throw new KeySpecError(`unknown option "${t}" in "${option}": ${FORM}`);
  }
  for (const k of specs)
    if (!k.numeric && !k.reverse) {
      k.numeric = global.numeric;
      k.reverse = global.reverse;
    }
  if (specs.length === 0)
    specs.push({
      beginField: 1,
      beginChar: 1,
      endField: 0,
      endChar: 0,
      numeric: global.numeric,
      reverse: global.reverse,
    });
  return specs;
}

function parseKey(arg: string): KeySpec {
  const m = /^(\d+)(?:\.(\d+))?([nr]*)(?:,(\d+)(?:\.(\d+))?([nr]*))?$/.exec(arg);
  if (!m) throw new KeySpecError(`"-k${arg}" is not a key position: ${FORM}`);
  const opts = `${m[3] ?? ''}${m[6] ?? ''}`;
  const spec: KeySpec = {
    beginField: Number(m[1]),
    beginChar: m[2] === undefined ? 1 : Number(m[2]),
    endField: m[4] === undefined ? 0 : Number(m[4]),
    endChar: m[5] === undefined ? 0 : Number(m[5]),
    numeric: opts.includes('n'),
    reverse: opts.includes('r'),
  };
  if (spec.beginField < 1 || spec.beginChar < 1)
    throw new KeySpecError(`"-k${arg}": fields and characters count from 1: ${FORM}`);
  return spec;
}

/** The byte ranges [start, end] (inclusive, as Hadoop's) a key's specs select; start -1: absent. */
export type KeyParts = Int32Array;

/**
 * The parts of `key` (UTF-8 bytes) each spec selects, as pairs [start, end] in one array: what
 * Hadoop computes afresh on every comparison, computed once per record here.
 */
export function keyParts(key: Uint8Array, specs: readonly KeySpec[], separator: Uint8Array): KeyParts {
  const lengths = wordLengths(key, separator);
  const out = new Int32Array(2 * specs.length);
  specs.forEach((k, i) => {
    out[2 * i] = startOffset(key.length, lengths, k, separator.length);
    out[2 * i + 1] = endOffset(key.length, lengths, k, separator.length);
  });
  return out;
}

/** [number of fields, length of field 1, length of field 2, …] (KeyFieldHelper.getWordLengths). */
function wordLengths(b: Uint8Array, sep: Uint8Array): number[] {
  const lengths = [0];
  let start = 0;
  let idx = 1;
  for (let pos = indexOf(b, sep, start); pos !== -1; pos = indexOf(b, sep, start)) {
    idx++;
    lengths[idx - 1] = pos - start;
    start = pos + sep.length;
  }
  lengths[idx] = b.length - start;
  lengths[0] = idx;
  return lengths;
}

function indexOf(b: Uint8Array, sep: Uint8Array, from: number): number {
  return Buffer.from(b.buffer, b.byteOffset, b.length).indexOf(sep, from);
}

function startOffset(length: number, lengths: number[], k: KeySpec, sepLength: number): number {
  if (lengths[0]! < k.beginField) return -1;
  let position = 0;
  for (let i = 1; i < k.beginField; i++) position += lengths[i]! + sepLength;
  return position + k.beginChar <= length ? position + k.beginChar - 1 : -1;
}

function endOffset(length: number, lengths: number[], k: KeySpec, sepLength: number): number {
  if (k.endField === 0 || lengths[0]! < k.endField) return length - 1;
  let position = 0;
  let i = 1;
  for (; i < k.endField; i++) position += lengths[i]! + sepLength;
  if (k.endChar === 0) position += lengths[i]!;
  return position + k.endChar <= length ? position + k.endChar - 1 : length - 1;
}

/** KeyFieldBasedComparator.compare on keys whose parts are already known. */
export function compareKeyFields(
  a: Uint8Array,
  pa: KeyParts,
  b: Uint8Array,
  pb: KeyParts,
  specs: readonly KeySpec[],
): number {
  for (let i = 0; i < specs.length; i++) {
    const k = specs[i]!;
    const s1 = pa[2 * i]!;
    const s2 = pb[2 * i]!;
    let c: number;
    // A key without the field sorts first (Hadoop's rule); two without it are equal here (Hadoop: first < second).
    if (s1 === -1 || s2 === -1) c = s1 === s2 ? 0 : s1 === -1 ? -1 : 1;
    else if (k.numeric) c = numericalCompare(a, s1, pa[2 * i + 1]!, b, s2, pb[2 * i + 1]!);
    else c = compareRange(a, s1, pa[2 * i + 1]!, b, s2, pb[2 * i + 1]!);
    if (c !== 0) return k.reverse ? -c : c;
  }
  return 0;
}

function compareRange(a: Uint8Array, s1: number, e1: number, b: Uint8Array, s2: number, e2: number): number {
  const n1 = Math.max(0, e1 - s1 + 1);
  const n2 = Math.max(0, e2 - s2 + 1);
  const n = Math.min(n1, n2);
  for (let i = 0; i < n; i++) {
    const d = a[s1 + i]! - b[s2 + i]!;
    if (d !== 0) return d;
  }
  return n1 - n2;
}

const NEGATIVE = 0x2d;
const ZERO = 0x30;
const DECIMAL = 0x2e;
const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

/**
 * Hadoop's numeric comparison of two byte ranges [s, e]: an optional '-', digits, an optional
 * '.' and digits; leading zeros ignored, -0 equals 0; anything after the number is ignored.
 */
export function numericalCompare(a: Uint8Array, s1: number, e1: number, b: Uint8Array, s2: number, e2: number): number {
  let i = s1;
  let j = s2;
  let mul = 1;
  let firstA = a[i] ?? 0;
  let firstB = b[j] ?? 0;
  if (firstA === NEGATIVE) {
    if (firstB !== NEGATIVE) return oneNegativeCompare(a, s1 + 1, e1, b, s2, e2);
    i++;
  }
  if (firstB === NEGATIVE) {
    if (firstA !== NEGATIVE) return -oneNegativeCompare(b, s2 + 1, e2, a, s1, e1);
    j++;
  }
  if (firstA === NEGATIVE && firstB === NEGATIVE) mul = -1;
  while (i <= e1 && a[i] === ZERO) i++;
  while (j <= e2 && b[j] === ZERO) j++;
  while (i <= e1 && j <= e2) {
    if (!isDigit(a[i]) || a[i] !== b[j]) break;
    i++;
    j++;
  }
  if (i <= e1) firstA = a[i]!;
  if (j <= e2) firstB = b[j]!;
  const firstResult = firstA - firstB;
  if ((firstA === DECIMAL && (!isDigit(firstB) || j > e2)) || (firstB === DECIMAL && (!isDigit(firstA) || i > e1))) {
    const d = decimalCompare(a, i, e1, b, j, e2);
    return mul < 0 ? -d : d;
  }
  let restA = 0;
  let restB = 0;
  while (i <= e1 && isDigit(a[i++])) restA++;
  while (j <= e2 && isDigit(b[j++])) restB++;
  const ret = restA - restB;
  if (ret === 0) return mul < 0 ? -firstResult : firstResult;
  return mul < 0 ? -ret : ret;
}

function decimalCompare(a: Uint8Array, i: number, e1: number, b: Uint8Array, j: number, e2: number): number {
  if (i > e1) return -decimalCompare1(b, ++j, e2);
  if (j > e2) return decimalCompare1(a, ++i, e1);
  if (a[i] === DECIMAL && b[j] === DECIMAL) {
    while (i <= e1 && j <= e2) {
      if (a[i] !== b[j]) {
        if (isDigit(a[i]) && isDigit(b[j])) return a[i]! - b[j]!;
        if (isDigit(a[i])) return 1;
        if (isDigit(b[j])) return -1;
        return 0;
      }
      i++;
      j++;
    }
    if (i > e1 && j > e2) return 0;
    if (i > e1) return -decimalCompare1(b, j, e2);
    if (j > e2) return decimalCompare1(a, i, e1);
  } else if (a[i] === DECIMAL) return decimalCompare1(a, ++i, e1);
  else if (b[j] === DECIMAL) return -decimalCompare1(b, ++j, e2);
  return 0;
}

/** 1 when a non-zero digit follows (before a non-digit), else 0. */
function decimalCompare1(a: Uint8Array, i: number, end: number): number {
  for (; i <= end; i++) {
    if (a[i] === ZERO) continue;
    return isDigit(a[i]) ? 1 : 0;
  }
  return 0;
}

/** a is negative, b is not: a < b unless both are zeros (-0.0 and 0). */
function oneNegativeCompare(a: Uint8Array, s1: number, e1: number, b: Uint8Array, s2: number, e2: number): number {
  if (!isZero(a, s1, e1)) return -1;
  if (!isZero(b, s2, e2)) return -1;
  return 0;
}

function isZero(a: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i <= end) {
    if (a[i] !== ZERO) {
      if (a[i] !== DECIMAL && isDigit(a[i])) return false;
      break;
    }
    i++;
  }
  if (i !== end + 1 && a[i++] === DECIMAL) {
    while (i <= end) {
      if (a[i] !== ZERO) {
        if (isDigit(a[i])) return false;
        break;
      }
      i++;
    }
  }
  return true;
}

/**
 * KeyFieldBasedPartitioner.getPartition: Java's `31 * h + byte` (bytes signed) over the parts
 * the specs select, so a key lands in the same partition number as on Hadoop.
 */
export function keyFieldPartition(key: Uint8Array, parts: KeyParts, reducers: number): number {
  if (key.length === 0) return 0;
  let h = 0;
  for (let i = 0; i < parts.length; i += 2) {
    const start = parts[i]!;
    if (start < 0) continue;
    const end = parts[i + 1]!;
    for (let p = start; p <= end; p++) h = (Math.imul(31, h) + ((key[p]! << 24) >> 24)) | 0;
  }
  return (h & 0x7fffffff) % reducers;
}
