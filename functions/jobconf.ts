/**
 * Hadoop job properties (`-D name=value` on the CLI, `jobconf: {...}` in a job): the ones
 * Streaming honours, the ones it knowingly ignores (one warning line each), and what they
 * resolve to. Any other name is an error that names it and the nearest known one.
 */
import { DEFAULTS } from './config.js';
import { KeySpecError, parseKeySpecs } from './format/key-fields.js';
import { closest } from './suggest.js';

/** Job properties as given: values are strings (a job file may give numbers and booleans). */
export type JobConf = Record<string, string | number | boolean>;

/** What the stream programs' text protocol and the key-field order need, resolved from a JobConf. */
export interface StreamConf {
  /** Between the key and the value fed to the mapper when `mapInputIgnoreKey` is false. */
  mapInputSeparator: string;
  /** Feed the mapper the line only (true) or `<byte offset><sep><line>` (false). */
  mapInputIgnoreKey: boolean;
  /** Splits the mapper's (and combiner's) output lines into key and value. */
  mapOutputSeparator: string;
  /** How many separator-delimited fields of a mapper output line are the key. */
  mapOutputKeyFields: number;
  /** Between the key and the value of each line fed to the reducer (and combiner). */
  reduceInputSeparator: string;
  /** Splits the reducer's output lines into key and value. */
  reduceOutputSeparator: string;
  reduceOutputKeyFields: number;
  /** Separates a key's fields for the key-field partitioner and comparator. */
  keyFieldSeparator: string;
  /** KeyFieldBasedPartitioner options (`-k1,1`): partition on these key fields. */
  partitionerOptions?: string;
  /** KeyFieldBasedComparator options (`-k1,1 -k2,2nr`): sort keys on these fields. */
  comparatorOptions?: string;
  /** A program exiting non-zero fails its task. */
  nonZeroExitIsFailure: boolean;
  /** stderr lines starting with this talk to the engine (`reporter:counter:…`, `reporter:status:…`). */
  reporterPrefix: string;
  /** A stream program that reads no input, writes no output and reports nothing for this long is killed; 0: never. */
  taskTimeoutMs: number;
}

/** What the job properties set besides the StreamConf. */
export interface JobConfSettings {
  stream: StreamConf;
  reducers?: number;
  splitSize?: number;
  sortBufferBytes?: number;
  /** Compress output parts (`part-r-00000.gz`). */
  outputCodec?: 'gzip';
  /** One line per property given and knowingly ignored. */
  warnings: string[];
}

type Parse = (value: string, name: string) => unknown;

const separator: Parse = (v, name) => {
  if (v === '') throw new Error(`${name} must not be empty`);
  return unescapeSeparator(v);
};
const wholeNumber =
  (min: number): Parse =>
  (v, name) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min) throw new Error(`${name} must be a whole number >= ${min}`);
    return n;
  };
const bool: Parse = (v, name) => {
  const t = v.trim().toLowerCase();
  if (t !== 'true' && t !== 'false') throw new Error(`${name} must be true or false`);
  return t === 'true';
};
const keyOptions: Parse = (v, name) => {
  try {
    parseKeySpecs(v);
  } catch (e) {
    if (e instanceof KeySpecError) throw new Error(`${name}: ${e.message}`);
    throw e;
  }
  return v;
};
/** A class property: only the classes whose behaviour is built in are accepted. */
const oneOf =
  (...classes: string[]): Parse =>
  (v, name) => {
    const short = v.slice(v.lastIndexOf('.') + 1);
    const hit = classes.find((c) => c === v || c.slice(c.lastIndexOf('.') + 1) === short);
    if (!hit) throw new Error(`${name}: ${v} is not available here (supported: ${classes.join(', ')})`);
    return hit;
  };

interface Supported {
  parse: Parse;
  /** What it maps to, for docs and errors. */
  does: string;
}

const KEY_PARTITIONER = 'org.apache.hadoop.mapreduce.lib.partition.KeyFieldBasedPartitioner';
const HASH_PARTITIONER = 'org.apache.hadoop.mapreduce.lib.partition.HashPartitioner';
const KEY_COMPARATOR = 'org.apache.hadoop.mapreduce.lib.partition.KeyFieldBasedComparator';
const GZIP_CODEC = 'org.apache.hadoop.io.compress.GzipCodec';

/** The properties Streaming honours (Hadoop 3 names). */
export const SUPPORTED_PROPERTIES: Record<string, Supported> = {
  'stream.map.input.field.separator': { parse: separator, does: 'key/value separator fed to the mapper' },
  'stream.map.input.ignoreKey': { parse: bool, does: 'false: feed the mapper `<byte offset><TAB><line>`' },
  'stream.map.output.field.separator': { parse: separator, does: 'field separator of mapper output lines' },
  'stream.num.map.output.key.fields': {
    parse: wholeNumber(1),
    does: 'fields of a mapper output line that are the key',
  },
  'stream.reduce.input.field.separator': { parse: separator, does: 'key/value separator fed to the reducer' },
  'stream.reduce.output.field.separator': { parse: separator, does: 'field separator of reducer output lines' },
  'stream.num.reduce.output.key.fields': {
    parse: wholeNumber(1),
    does: 'fields of a reducer output line that are the key',
  },
  'stream.non.zero.exit.is.failure': { parse: bool, does: 'false: a program exiting non-zero does not fail its task' },
  'stream.stderr.reporter.prefix': { parse: separator, does: 'prefix of reporter lines on stderr' },
  'mapreduce.map.output.key.field.separator': {
    parse: separator,
    does: 'separates key fields for the key-field partitioner and comparator',
  },
  'mapreduce.partition.keypartitioner.options': { parse: keyOptions, does: 'partition on key fields (`-k1,1`)' },
  'mapreduce.partition.keycomparator.options': {
    parse: keyOptions,
    does: 'sort on key fields, numeric and reverse (`-k1,1 -k2,2nr`)',
  },
  'mapreduce.job.partitioner.class': {
    parse: oneOf(KEY_PARTITIONER, HASH_PARTITIONER),
    does: 'KeyFieldBasedPartitioner or HashPartitioner (the options alone are enough here)',
  },
  'mapreduce.job.output.key.comparator.class': {
    parse: oneOf(KEY_COMPARATOR),
    does: 'KeyFieldBasedComparator (the options alone are enough here)',
  },
  'mapreduce.job.reduces': { parse: wholeNumber(0), does: 'reducers (`--reducers`)' },
  'mapreduce.output.fileoutputformat.compress': { parse: bool, does: 'gzip the output parts' },
  'mapreduce.output.fileoutputformat.compress.codec': { parse: oneOf(GZIP_CODEC), does: 'GzipCodec only' },
  'mapreduce.task.timeout': {
    parse: wholeNumber(0),
    does: 'ms a stream program may go without reading, writing or reporting before it is killed; 0: never',
  },
  'mapreduce.input.fileinputformat.split.maxsize': {
    parse: wholeNumber(1),
    does: 'bytes per map task (`--split-size`)',
  },
  'mapreduce.task.io.sort.mb': { parse: wholeNumber(1), does: 'map-side sort buffer in MiB (`--sort-buffer`)' },
};

/** Hadoop properties that have no meaning here: accepted with one warning line saying why. */
export const IGNORED_PROPERTIES: Record<string, string> = {
  'mapreduce.job.name': 'the job is named by its definition',
  'mapreduce.job.maps': 'map tasks follow the split size (--split-size)',
  'mapreduce.map.memory.mb': 'memory is --worker-memory locally and memorySize in the cloud',
  'mapreduce.reduce.memory.mb': 'memory is --worker-memory locally and memorySize in the cloud',
  'mapreduce.map.java.opts': 'there is no JVM',
  'mapreduce.reduce.java.opts': 'there is no JVM',
  'mapreduce.job.queuename': 'there are no queues',
  'mapreduce.job.priority': 'there are no queues',
  'mapreduce.map.speculative': 'there is no speculative execution',
  'mapreduce.reduce.speculative': 'there is no speculative execution',
  'mapreduce.map.output.compress': 'the shuffle has its own format',
  'mapreduce.map.output.compress.codec': 'the shuffle has its own format',
  'mapreduce.job.reduce.slowstart.completedmaps': 'reducers start when every map task is done',
  'mapreduce.map.maxattempts': 'attempts are --attempts locally and taskAttempts in the cloud',
  'mapreduce.reduce.maxattempts': 'attempts are --attempts locally and taskAttempts in the cloud',
  'mapreduce.input.fileinputformat.input.dir.recursive': 'input directories are always read recursively',
  'stream.tmpdir': 'scratch is --scratch',
};

/** Hadoop 1 names Hadoop 3 still reads, and what they stand for. */
export const DEPRECATED_PROPERTIES: Record<string, string> = {
  'mapred.reduce.tasks': 'mapreduce.job.reduces',
  'mapred.map.tasks': 'mapreduce.job.maps',
  'mapred.job.name': 'mapreduce.job.name',
  'mapred.text.key.partitioner.options': 'mapreduce.partition.keypartitioner.options',
  'mapred.text.key.comparator.options': 'mapreduce.partition.keycomparator.options',
  'map.output.key.field.separator': 'mapreduce.map.output.key.field.separator',
  'mapred.output.key.comparator.class': 'mapreduce.job.output.key.comparator.class',
  'mapred.partitioner.class': 'mapreduce.job.partitioner.class',
  'mapred.output.compress': 'mapreduce.output.fileoutputformat.compress',
  'mapred.output.compression.codec': 'mapreduce.output.fileoutputformat.compress.codec',
  'mapred.task.timeout': 'mapreduce.task.timeout',
  'mapred.max.split.size': 'mapreduce.input.fileinputformat.split.maxsize',
  'io.sort.mb': 'mapreduce.task.io.sort.mb',
  'mapred.job.queue.name': 'mapreduce.job.queuename',
  'mapred.map.tasks.speculative.execution': 'mapreduce.map.speculative',
  'mapred.reduce.tasks.speculative.execution': 'mapreduce.reduce.speculative',
  'mapred.map.max.attempts': 'mapreduce.map.maxattempts',
  'mapred.reduce.max.attempts': 'mapreduce.reduce.maxattempts',
  'mapred.compress.map.output': 'mapreduce.map.output.compress',
};

/** Every name Streaming recognises. */
const KNOWN = [
  ...Object.keys(SUPPORTED_PROPERTIES),
  ...Object.keys(IGNORED_PROPERTIES),
  ...Object.keys(DEPRECATED_PROPERTIES),
];

/** Hadoop's escapes in separators given on a command line (`\t`, `\n`, `\\`, `\u0001`). */
function unescapeSeparator(v: string): string {
  return v.replace(/\\(u[0-9a-fA-F]{4}|t|n|\\)/g, (_, e: string) =>
    e === 't' ? '\t' : e === 'n' ? '\n' : e === '\\' ? '\\' : String.fromCharCode(Number.parseInt(e.slice(1), 16)),
  );
}

/** Every problem with the properties (unknown names, bad values), for one message. */
export function jobConfProblems(conf: unknown): string[] {
  if (conf === undefined) return [];
  if (conf === null || typeof conf !== 'object' || Array.isArray(conf))
    return ['jobconf must be an object of Hadoop properties, e.g. { "mapreduce.job.reduces": 4 }'];
  const problems: string[] = [];
  for (const [raw, value] of Object.entries(conf)) {
    if (!['string', 'number', 'boolean'].includes(typeof value)) {
      problems.push(`jobconf ${raw}: give a string, number or boolean`);
      continue;
    }
    const name = DEPRECATED_PROPERTIES[raw] ?? raw;
    const def = SUPPORTED_PROPERTIES[name];
    if (def) {
      try {
        def.parse(String(value), raw);
      } catch (e) {
        problems.push((e as Error).message);
      }
    } else if (IGNORED_PROPERTIES[name] === undefined) {
      const guess = closest(raw, KNOWN);
      problems.push(
        `unknown job property ${raw}${guess ? ` (did you mean ${guess}?)` : ''}: see docs/stream-programs.md for the properties Streaming reads`,
      );
    }
  }
  return problems;
}

/** The properties under their Hadoop 3 names, values as strings (the later object wins). */
export function mergeJobConf(...confs: (JobConf | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const conf of confs)
    for (const [k, v] of Object.entries(conf ?? {})) out[DEPRECATED_PROPERTIES[k] ?? k] = String(v);
  return out;
}

/** Resolves checked properties (jobConfProblems found none) into settings. */
export function resolveJobConf(conf: Record<string, string>): JobConfSettings {
  const get = <T>(name: string): T | undefined =>
    conf[name] === undefined ? undefined : (SUPPORTED_PROPERTIES[name]!.parse(conf[name], name) as T);
  const stream: StreamConf = {
    mapInputSeparator: get<string>('stream.map.input.field.separator') ?? '\t',
    mapInputIgnoreKey: get<boolean>('stream.map.input.ignoreKey') ?? true,
    mapOutputSeparator: get<string>('stream.map.output.field.separator') ?? '\t',
    mapOutputKeyFields: get<number>('stream.num.map.output.key.fields') ?? 1,
    reduceInputSeparator: get<string>('stream.reduce.input.field.separator') ?? '\t',
    reduceOutputSeparator: get<string>('stream.reduce.output.field.separator') ?? '\t',
    reduceOutputKeyFields: get<number>('stream.num.reduce.output.key.fields') ?? 1,
    keyFieldSeparator: get<string>('mapreduce.map.output.key.field.separator') ?? '\t',
    nonZeroExitIsFailure: get<boolean>('stream.non.zero.exit.is.failure') ?? true,
    reporterPrefix: get<string>('stream.stderr.reporter.prefix') ?? 'reporter:',
    taskTimeoutMs: get<number>('mapreduce.task.timeout') ?? DEFAULTS.streamTaskTimeoutMs,
  };
  const partitioner = get<string>('mapreduce.partition.keypartitioner.options');
  // HashPartitioner named explicitly: the options do not apply (as in Hadoop).
  if (partitioner !== undefined && get<string>('mapreduce.job.partitioner.class') !== HASH_PARTITIONER)
    stream.partitionerOptions = partitioner;
  const comparator = get<string>('mapreduce.partition.keycomparator.options');
  if (comparator !== undefined) stream.comparatorOptions = comparator;
  const settings: JobConfSettings = { stream, warnings: [] };
  const reducers = get<number>('mapreduce.job.reduces');
  if (reducers !== undefined) settings.reducers = reducers;
  const split = get<number>('mapreduce.input.fileinputformat.split.maxsize');
  if (split !== undefined) settings.splitSize = split;
  const sortMb = get<number>('mapreduce.task.io.sort.mb');
  if (sortMb !== undefined) settings.sortBufferBytes = sortMb * 2 ** 20;
  if (get<boolean>('mapreduce.output.fileoutputformat.compress')) settings.outputCodec = 'gzip';
  for (const name of Object.keys(conf))
    if (IGNORED_PROPERTIES[name] !== undefined)
      settings.warnings.push(`job property ${name} is ignored: ${IGNORED_PROPERTIES[name]}`);
  return settings;
}

/** The StreamConf of a job that sets no properties. */
export const DEFAULT_STREAM_CONF: StreamConf = resolveJobConf({}).stream;

/** A property name as Hadoop Streaming exports it to programs: every character but [A-Za-z0-9] becomes `_`. */
export const envName = (property: string) => property.replace(/[^A-Za-z0-9]/g, '_');
