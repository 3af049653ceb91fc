/**
 * The command line of the iterative drivers (logistic regression, k-means), which are
 * programs, not single jobs: after `npm run build`,
 *   node dist/jobs/<driver>.js --input <path>... --output <dir> [--param k=v]... [--workers n] [--split-size bytes]
 * with the options `streaming run` has for one job, applied to each of the driver's runs.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { LocalRunOptions } from 'streaming';

export interface DriverArgs {
  input: string[];
  output: string;
  params: Record<string, string>;
  run: Partial<LocalRunOptions>;
}

/** Whether the module at `url` is the program Node was started with (through a symbolic link too). */
export function isMain(url: string): boolean {
  const program = process.argv[1];
  if (program === undefined) return false;
  try {
    return fs.realpathSync(program) === fs.realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}

/** The driver's arguments, or a usage message (exit 2) when they are wrong. */
export function driverArgs(argv: string[], usage: string): DriverArgs {
  const fail = (message: string): never => {
    process.stderr.write(`${message}\n\n${usage}`);
    process.exit(2);
  };
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    return fail((e as Error).message);
  }
  const { values } = parsed;
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  if (!values.input?.length) fail('give at least one --input <path>');
  if (!values.output) fail('give --output <dir>');
  const params: Record<string, string> = {};
  for (const p of values.param ?? []) {
    const eq = p.indexOf('=');
    if (eq <= 0) fail(`--param takes key=value (got "${p}")`);
    params[p.slice(0, eq)] = p.slice(eq + 1);
  }
  const run: Partial<LocalRunOptions> = {};
  const whole = (name: string, raw: string | undefined) => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    return Number.isInteger(n) && n >= 1 ? n : fail(`--${name} takes a whole number >= 1 (got "${raw}")`);
  };
  const workers = whole('workers', values.workers);
  const splitSize = whole('split-size', values['split-size']);
  if (workers !== undefined) run.workers = workers;
  if (splitSize !== undefined) run.splitSize = splitSize;
  return { input: values.input!, output: values.output!, params, run };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      input: { type: 'string', short: 'i', multiple: true },
      output: { type: 'string', short: 'o' },
      param: { type: 'string', short: 'p', multiple: true },
      workers: { type: 'string', short: 'w' },
      'split-size': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** A number param, or its default; an InvalidJobError-style message when it is not one. */
export function numberArg(params: Record<string, string>, name: string, fallback: number): number {
  const raw = params[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) throw new Error(`--param ${name} must be a number (got "${raw}").`);
  return n;
}
