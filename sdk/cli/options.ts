/**
 * Every option of the `streaming` command line, defined once: its name, short form, type,
 * default (shown from DEFAULTS in functions/config.ts; applied where the run resolves its
 * options, never here) and help. Commands name the options they take; parsing, checking,
 * help text and "did you mean" all come from this table.
 */
import { parseArgs } from 'node:util';
import { DEFAULTS, parseSize } from '../../functions/config.js';
import { StreamingError } from '../../functions/errors.js';
import { closest } from '../../functions/suggest.js';
import { ESTIMATE_DEFAULTS } from '../estimate.js';

/** A command line that cannot be acted on; the CLI exits 2 with its message. */
export class UsageError extends StreamingError {}

/**
 * How an option's text becomes its value: `text` as given; `texts` repeatable; `flag` true when
 * present; `count` a whole number >= `min`; `size` bytes ("64MiB"); `pairs` repeatable
 * `key=value` into an object; `ratio` a number >= 0; `mebibytes` a size given with a unit, in MiB;
 * `list` repeatable and comma-separated (Hadoop's `-files a,b`).
 */
type Kind = 'text' | 'texts' | 'list' | 'flag' | 'count' | 'size' | 'mebibytes' | 'pairs' | 'ratio';

interface OptionDef {
  readonly kind: Kind;
  readonly short?: string;
  /** The value's placeholder in the help, e.g. `<path>`. */
  readonly arg?: string;
  readonly help: string;
  /** The default, as the help shows it. */
  readonly default?: string;
  /** Smallest value of a `count`. */
  readonly min?: number;
}

const bytes = (n: number) =>
  n % 2 ** 30 === 0 ? `${n / 2 ** 30}GiB` : n % 2 ** 20 === 0 ? `${n / 2 ** 20}MiB` : `${n / 2 ** 10}KiB`;

export const OPTIONS = {
  input: { kind: 'texts', short: 'i', arg: '<path>', help: 'input file, directory, prefix or glob (repeatable)' },
  output: { kind: 'text', short: 'o', arg: '<dir>', help: 'output directory or prefix' },
  reducers: {
    kind: 'count',
    min: 0,
    short: 'r',
    arg: '<n>',
    help: 'reduce partitions (0: map-only)',
    default: `the job's, else ${DEFAULTS.reducers}`,
  },
  'split-size': {
    kind: 'size',
    arg: '<size>',
    help: 'bytes per map task, e.g. 64MiB',
    default: bytes(DEFAULTS.splitSize),
  },
  'sort-buffer': {
    kind: 'size',
    arg: '<size>',
    help: 'map-side sort/combine buffer per task',
    default: bytes(DEFAULTS.sortBufferBytes),
  },
  workers: { kind: 'count', min: 1, short: 'w', arg: '<n>', help: 'worker threads', default: 'one per core' },
  'worker-memory': {
    kind: 'mebibytes',
    arg: '<size>',
    help: 'heap limit of each worker',
    default: bytes(DEFAULTS.workerHeapMiB * 2 ** 20),
  },
  param: {
    kind: 'pairs',
    short: 'p',
    arg: '<k=v>',
    help: 'job parameter (repeatable); stream programs get it as $STREAMING_PARAM_<k>',
  },
  jobconf: {
    kind: 'pairs',
    short: 'D',
    arg: '<name=value>',
    help: 'Hadoop job property (repeatable), e.g. -D mapreduce.job.reduces=4',
  },
  cmdenv: { kind: 'pairs', arg: '<NAME=value>', help: "stream programs' environment variable (repeatable)" },
  files: {
    kind: 'list',
    arg: '<path,…>',
    help: "files for the stream programs' directory (repeatable, comma-separated; path#name renames)",
  },
  overwrite: { kind: 'flag', help: 'replace an output that holds a completed job' },
  step: {
    kind: 'count',
    min: 0,
    arg: '<n>',
    help: 'run only step n (from 0) of a multi-step job',
    default: 'every step',
  },
  'strict-utf8': { kind: 'flag', help: 'fail on invalid UTF-8 input', default: 'read it as U+FFFD' },
  scratch: { kind: 'text', arg: '<dir>', help: 'where intermediate data goes', default: 'OS temp dir' },
  'keep-scratch': { kind: 'flag', help: 'keep intermediate data' },
  attempts: {
    kind: 'count',
    min: 1,
    arg: '<n>',
    help: 'attempts per task before the job fails',
    default: String(DEFAULTS.taskAttempts),
  },
  quiet: { kind: 'flag', help: 'no progress' },
  verbose: { kind: 'flag', help: 'print the stack of a failure' },
  wait: { kind: 'flag', help: 'follow the job until it ends (progress on stderr)' },
  endpoint: { kind: 'text', arg: '<url>', help: 'AWS endpoint, e.g. http://localhost:4566 for LocalStack' },
  'input-size': { kind: 'size', arg: '<size>', help: 'bytes of input, e.g. 100GB (required)' },
  memory: {
    kind: 'count',
    min: 128,
    arg: '<MiB>',
    help: 'memory of the map and reduce functions',
    default: String(DEFAULTS.memoryMiB.map),
  },
  objects: { kind: 'count', min: 1, arg: '<n>', help: 'input objects', default: 'one per split' },
  'shuffle-ratio': {
    kind: 'ratio',
    arg: '<x>',
    help: 'shuffled bytes per input byte',
    default: String(ESTIMATE_DEFAULTS.shuffleRatio),
  },
  json: { kind: 'flag', help: 'the estimate as JSON' },
  out: { kind: 'text', arg: '<file>', help: 'where to write it', default: './<job id>.report.html' },
  help: { kind: 'flag', short: 'h', help: 'this help' },
} as const satisfies Record<string, OptionDef>;

export type OptionName = keyof typeof OPTIONS;

type ValueOf<K extends Kind> = K extends 'texts' | 'list'
  ? string[]
  : K extends 'flag'
    ? boolean
    : K extends 'count' | 'size' | 'mebibytes' | 'ratio'
      ? number
      : K extends 'pairs'
        ? Record<string, string>
        : string;

/** The parsed options of a command: absent when not given (defaults are applied downstream). */
export type OptionValues<N extends OptionName> = { [P in N]?: ValueOf<(typeof OPTIONS)[P]['kind']> };

/**
 * Hadoop Streaming's single-dash options, as a ported command line writes them: those with an
 * equivalent become it; the others say where their setting lives here.
 */
const HADOOP_OPTIONS: Record<string, OptionName | string> = {
  '-input': 'input',
  '-output': 'output',
  '-cmdenv': 'cmdenv',
  '-files': 'files',
  '-file': 'files',
  '-numReduceTasks': 'reducers',
  '-verbose': 'verbose',
  '-mapper': "is the job file's `mapper` (docs/stream-programs.md)",
  '-combiner': "is the job file's `combiner`",
  '-reducer': "is the job file's `reducer` (`reducers: 0` for -reducer NONE)",
  '-partitioner': 'is -D mapreduce.partition.keypartitioner.options=-k1,1 (KeyFieldBasedPartitioner)',
  '-inputformat': "is the job file's `input: { format }` (text, jsonl, csv, whole)",
  '-outputformat': "is the job file's `output: { format }` (tsv, jsonl)",
  '-archives': 'has no equivalent: unpack the archive and list its files with --files',
  '-libjars': 'has no equivalent: there is no JVM',
};

/** Hadoop's single-dash spellings turned into this CLI's own (or refused, saying where the setting is). */
function fromHadoop(argv: string[], names: readonly OptionName[]): string[] {
  return argv.map((arg) => {
    const target = HADOOP_OPTIONS[arg];
    if (target === undefined) return arg;
    if ((names as readonly string[]).includes(target)) return `--${target}`;
    if (target in OPTIONS) throw new UsageError(`${arg} (Hadoop Streaming's) is not an option of this command`);
    throw new UsageError(`Hadoop Streaming's ${arg} ${target}`);
  });
}

/** Parses a command's arguments against its options; unknown options say what was probably meant. */
export function parseOptions<N extends OptionName>(
  argv: string[],
  names: readonly N[],
): { values: OptionValues<N>; positionals: string[] } {
  argv = fromHadoop(argv, names);
  rejectUnknown(argv, names);
  const spec: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const name of names) {
    const def: OptionDef = OPTIONS[name];
    spec[name] = {
      type: def.kind === 'flag' ? 'boolean' : 'string',
      ...(def.short ? { short: def.short } : {}),
      ...(def.kind === 'texts' || def.kind === 'list' || def.kind === 'pairs' ? { multiple: true } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: spec, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const values: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(parsed.values)) {
    if (raw !== undefined) values[name] = convert(name as OptionName, raw as string | string[] | boolean);
  }
  return { values: values as OptionValues<N>, positionals: parsed.positionals };
}

/** Options parseArgs would refuse with no hint: each long one gets the nearest the command takes. */
function rejectUnknown(argv: string[], names: readonly OptionName[]): void {
  const known = new Set<string>(names);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return;
    if (!arg.startsWith('--')) {
      // A short option taking a value takes the next argument unless it is attached (`-r2`).
      const def = names.map((n) => OPTIONS[n] as OptionDef).find((d) => d.short && arg === `-${d.short}`);
      if (def && def.kind !== 'flag') i++;
      continue;
    }
    const name = arg.slice(2).split('=')[0]!;
    if (known.has(name)) {
      if ((OPTIONS[name as OptionName] as OptionDef).kind !== 'flag' && !arg.includes('=')) i++;
      continue;
    }
    const guess = closest(name, names);
    throw new UsageError(`unknown option --${name}${guess ? ` (did you mean --${guess}?)` : ''}`);
  }
}

function convert(name: OptionName, raw: string | string[] | boolean, kind?: Kind): unknown {
  const def: OptionDef = OPTIONS[name];
  switch (kind ?? def.kind) {
    case 'flag':
    case 'text':
    case 'texts':
      return raw;
    case 'list':
      return (raw as string[]).flatMap((v) => v.split(',')).filter((v) => v !== '');
    case 'count': {
      const n = Number(raw);
      const min = def.min ?? 0;
      if (raw === '' || !Number.isInteger(n) || n < min)
        throw new UsageError(`--${name} must be a whole number >= ${min} (got "${raw}")`);
      return n;
    }
    case 'size':
      try {
        const n = parseSize(raw as string);
        if (n <= 0) throw new Error('must be > 0');
        return n;
      } catch (e) {
        throw new UsageError(`--${name}: ${(e as Error).message}`);
      }
    case 'mebibytes': {
      const n = convert(name, raw, 'size') as number;
      // A plain number would be bytes: far too small for any memory setting, so surely a missing unit.
      if (n < 2 ** 20)
        throw new UsageError(`--${name} ${raw} is ${n} bytes: give it with a unit, e.g. --${name} 512MiB`);
      return Math.round(n / 2 ** 20);
    }
    case 'ratio': {
      const n = Number(raw);
      if (raw === '' || !(n >= 0)) throw new UsageError(`--${name} must be a number >= 0`);
      return n;
    }
    case 'pairs': {
      const out: Record<string, string> = {};
      for (const p of raw as string[]) {
        const eq = p.indexOf('=');
        if (eq <= 0) throw new UsageError(`--${name} takes key=value (got "${p}")`);
        out[p.slice(0, eq)] = p.slice(eq + 1);
      }
      return out;
    }
  }
}

/** The help lines of the given options, aligned, each with its default. */
export function optionHelp(names: readonly OptionName[]): string {
  const rows = names.map((name) => {
    const def: OptionDef = OPTIONS[name];
    const flag = `${def.short ? `-${def.short}, ` : '    '}--${name}${def.arg ? ` ${def.arg}` : ''}`;
    return { flag, help: def.help, dflt: def.default };
  });
  const width = Math.max(...rows.map((r) => r.flag.length)) + 2;
  const helpWidth = Math.max(...rows.map((r) => r.help.length)) + 2;
  return rows
    .map((r) => `  ${r.flag.padEnd(width)}${r.dflt ? `${r.help.padEnd(helpWidth)}[default: ${r.dflt}]` : r.help}`)
    .join('\n');
}
