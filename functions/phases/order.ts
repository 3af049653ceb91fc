/**
 * How records are partitioned and ordered when a job says so; otherwise the engine's own rule
 * applies (hash of the encoded key, keys in the byte order of their encoding), on fast paths
 * that never come here.
 *
 * - Stream jobs say it with Hadoop's key-field options (`mapreduce.partition.keypartitioner.options`,
 *   `mapreduce.partition.keycomparator.options`): functions/format/key-fields.ts.
 * - TypeScript jobs say it with `partitionBy`, `compareKeys` and `compareValues`.
 *
 * Whatever the job's comparison, keys it calls equal are ordered by their bytes after it, so
 * equal keys stay together (one group each) and the order is the same on every run.
 */
import { partitionOf } from '../format/hash.js';
import { compareKeyFields, type KeyParts, keyFieldPartition, keyParts, parseKeySpecs } from '../format/key-fields.js';
import { compareUtf8, decodeText, encodeText, KEY_JSON, VALUE_JSON } from '../format/records.js';
import type { AnyJob } from '../job.js';
import { DEFAULT_STREAM_CONF } from '../jobconf.js';
import type { RunContext } from '../spec.js';
import { userError } from './context.js';

/** What a record is compared by, worked out once per record. */
export interface OrderForm {
  /** The encoded key. */
  readonly k: string;
  /** The key's UTF-8 bytes and the ranges the comparator's key specs select. */
  readonly bytes?: Uint8Array;
  readonly parts?: KeyParts;
  /** The decoded key and value, for compareKeys and compareValues. */
  readonly key?: unknown;
  readonly value?: unknown;
}

export interface KeyOrder {
  /** The reduce partition of a record by its encoded key and flags. */
  partition(k: string, flags: number, reducers: number): number;
  /** Whether `form` needs the record's value (secondary sort on values). */
  readonly needsValue: boolean;
  form(k: string, flags: number, v: string): OrderForm;
  compare(a: OrderForm, b: OrderForm): number;
}

/** The job's order, or undefined when it uses the engine's own. */
export function keyOrderOf(job: AnyJob, run: RunContext, task: number): KeyOrder | undefined {
  const { partitionerOptions, comparatorOptions, keyFieldSeparator } = run.stream ?? DEFAULT_STREAM_CONF;
  if (partitionerOptions !== undefined || comparatorOptions !== undefined)
    return keyFieldOrder(partitionerOptions, comparatorOptions, keyFieldSeparator);
  if (job.partitionBy || job.compareKeys || job.compareValues) return typedOrder(job, task);
  return undefined;
}

/** Hadoop's KeyFieldBasedPartitioner and KeyFieldBasedComparator. */
function keyFieldOrder(partitioner: string | undefined, comparator: string | undefined, separator: string): KeyOrder {
  const sep = Buffer.from(separator, 'utf8');
  const partitionSpecs = partitioner === undefined ? undefined : parseKeySpecs(partitioner);
  const compareSpecs = comparator === undefined ? undefined : parseKeySpecs(comparator);
  return {
    needsValue: false,
    partition(k, _flags, reducers) {
      if (!partitionSpecs) return partitionOf(k, reducers);
      const bytes = Buffer.from(k, 'utf8');
      return keyFieldPartition(bytes, keyParts(bytes, partitionSpecs, sep), reducers);
    },
    form(k) {
      if (!compareSpecs) return { k };
      const bytes = Buffer.from(k, 'utf8');
      return { k, bytes, parts: keyParts(bytes, compareSpecs, sep) };
    },
    compare(a, b) {
      if (compareSpecs) {
        const c = compareKeyFields(a.bytes!, a.parts!, b.bytes!, b.parts!, compareSpecs);
        if (c !== 0) return c;
      }
      return compareUtf8(a.k, b.k);
    },
  };
}

/** A TypeScript job's partitionBy, compareKeys and compareValues. */
function typedOrder(job: AnyJob, task: number): KeyOrder {
  const user =
    <A extends unknown[], R>(name: string, fn: ((...args: A) => R) | undefined) =>
    (...args: A): R => {
      try {
        return fn!.apply(job, args);
      } catch (e) {
        throw userError(name, task, e);
      }
    };
  const partitionBy = job.partitionBy ? user('partitionBy', job.partitionBy) : undefined;
  const compareKeys = job.compareKeys ? user('compareKeys', job.compareKeys) : undefined;
  const compareValues = job.compareValues ? user('compareValues', job.compareValues) : undefined;
  return {
    needsValue: compareValues !== undefined,
    partition(k, flags, reducers) {
      if (!partitionBy) return partitionOf(k, reducers);
      return partitionOf(encodeText(partitionBy(decodeText(k, (flags & KEY_JSON) !== 0))), reducers);
    },
    form(k, flags, v) {
      return {
        k,
        ...(compareKeys ? { key: decodeText(k, (flags & KEY_JSON) !== 0) } : {}),
        ...(compareValues ? { value: decodeText(v, (flags & VALUE_JSON) !== 0) } : {}),
      };
    },
    compare(a, b) {
      if (compareKeys) {
        const c = compareKeys(a.key, b.key);
        if (c !== 0) return c;
      }
      const c = compareUtf8(a.k, b.k);
      if (c !== 0 || !compareValues) return c;
      return compareValues(a.value, b.value);
    },
  };
}

/** Sorts records (stably) by a job's order. */
export function sortByOrder<T extends { k: string; f: number; v: string }>(items: T[], order: KeyOrder): T[] {
  const forms = items.map((e) => order.form(e.k, e.f, e.v));
  const index = items.map((_, i) => i);
  index.sort((x, y) => order.compare(forms[x]!, forms[y]!) || x - y);
  const sorted = index.map((i) => items[i]!);
  for (let i = 0; i < items.length; i++) items[i] = sorted[i]!;
  return items;
}
