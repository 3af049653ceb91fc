/**
 * What a job's stream programs need in the cloud, found when the stack is synthesized (so a
 * job that cannot run there fails at `cdk synth`, not at run time): the files to bundle into
 * the map and reduce functions — those the commands name beside the job file, the job's
 * `files` — and the interpreters the commands call that the Node.js Lambda runtime lacks.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { namedEntries } from '../functions/phases/programs.js';

export { PROGRAMS_DIR } from '../functions/phases/programs.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The program-related fields of each step of a job module. */
interface StepPrograms {
  name: string;
  mapper?: string;
  combiner?: string;
  reducer?: string;
  files?: string[];
}

export interface JobPrograms {
  /** `role: command` of every step, e.g. `mapper: python3 map.py`. */
  readonly commands: readonly { role: string; step: string; command: string }[];
  /** Copied into the bundle's `programs/` (the programs' root in the cloud): source → path under it. */
  readonly copies: readonly { from: string; to: string }[];
  /** What cannot be bundled (files outside the job's directory). */
  readonly problems: readonly string[];
}

const inspected = new Map<string, { mtimeMs: number; steps: StepPrograms[] }>();

/**
 * Loads the job module in a child process (bundled with esbuild, as the functions are) and reads
 * what its steps run; none when it does not load. A CDK construct is synchronous, hence the
 * child process.
 */
function stepsOf(jobPath: string): StepPrograms[] {
  const mtimeMs = statSync(jobPath).mtimeMs;
  const cached = inspected.get(jobPath);
  if (cached?.mtimeMs === mtimeMs) return cached.steps;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'streaming-inspect-'));
  try {
    const outfile = path.join(dir, 'job.mjs');
    const sdk = existsSync(path.join(here, '../sdk/index.js'))
      ? path.join(here, '../sdk/index.js')
      : path.join(here, '../sdk/index.ts');
    const build = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { buildSync } from 'esbuild';
         buildSync({ entryPoints: [${JSON.stringify(jobPath)}], outfile: ${JSON.stringify(outfile)}, bundle: true,
           platform: 'node', format: 'esm', target: 'node20', logLevel: 'silent', alias: { streaming: ${JSON.stringify(sdk)} },
           banner: { js: "import { createRequire as __r } from 'node:module'; const require = __r(import.meta.url);" } });
         const job = (await import(${JSON.stringify(pathToFileURL(outfile).href)})).default;
         const steps = (job?.steps ?? [job]).map((s) => ({ name: s?.name, mapper: s?.mapper, combiner: s?.combiner, reducer: s?.reducer, files: s?.files }));
         process.stdout.write(JSON.stringify(steps));`,
      ],
      { encoding: 'utf8', cwd: here },
    );
    // A module that does not load has no programs to bundle: its functions fail at run time
    // with InvalidJobError and the module's own message (the deployed handlers load it lazily).
    const steps = build.status === 0 ? (JSON.parse(build.stdout) as StepPrograms[]) : [];
    inspected.set(jobPath, { mtimeMs, steps });
    return steps;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The job's programs: their commands, and what to copy for them. `extra` are the construct's
 * `programs` (paths relative to the directory cdk runs in), copied at their place relative to the
 * job file.
 */
export function jobPrograms(jobPath: string, extra: readonly string[] = []): JobPrograms {
  const root = path.dirname(jobPath);
  const commands: { role: string; step: string; command: string }[] = [];
  const copies = new Map<string, string>();
  const problems: string[] = [];
  const inside = (abs: string) => {
    const rel = path.relative(root, abs);
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : undefined;
  };
  for (const step of stepsOf(jobPath)) {
    for (const role of ['mapper', 'combiner', 'reducer'] as const) {
      const command = step[role];
      if (!command) continue;
      commands.push({ role, step: step.name, command });
      try {
        for (const entry of namedEntries(command, root)) copies.set(entry, path.join(root, entry));
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    for (const f of step.files ?? []) {
      const file = f.lastIndexOf('#') > 0 ? f.slice(0, f.lastIndexOf('#')) : f;
      const abs = path.resolve(root, file);
      const rel = inside(abs);
      if (!existsSync(abs)) problems.push(`files: ${f} does not exist (relative to the job file's directory ${root})`);
      else if (rel === undefined)
        problems.push(`files: ${f} must lie in the job file's directory (${root}) to be bundled`);
      else copies.set(rel, abs);
    }
  }
  for (const p of extra) {
    const abs = path.resolve(p);
    const rel = inside(abs);
    if (rel === undefined) problems.push(`programs: ${p} must lie in the job file's directory (${root})`);
    else copies.set(rel, abs);
  }
  return { commands, copies: [...copies].map(([to, from]) => ({ from, to })), problems };
}

/** Interpreters the Node.js Lambda runtime does not have. */
const MISSING_INTERPRETERS =
  /^(python[0-9.]*|pypy[0-9]*|perl[0-9.]*|ruby[0-9.]*|Rscript|R|php[0-9.]*|java|lua[0-9.]*|julia|tclsh)$/;
/** Words that run the next word as the program. */
const PREFIXES = new Set(['exec', 'env', 'nice', 'nohup', 'time', 'command', 'stdbuf', 'timeout']);

/** The programs a shell command runs: the first word of each simple command (`a | b && c`). */
export function programsRun(command: string): string[] {
  const found: string[] = [];
  for (const segment of command.split(/\|\||&&|[|;&\n()]|`|\$\(/)) {
    const words = segment
      .trim()
      .split(/\s+/)
      .map((w) => w.replace(/^['"]|['"]$/g, ''));
    let i = 0;
    while (
      i < words.length &&
      (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!) || PREFIXES.has(words[i]!) || words[i]!.startsWith('-'))
    )
      i++;
    const word = words[i];
    if (word) found.push(word);
  }
  return found;
}

/** `#!/usr/bin/env python3` → python3; `#!/usr/bin/perl -w` → perl. */
function shebangOf(file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return undefined;
    const head = readFileSync(file, { encoding: 'latin1' }).slice(0, 256);
    const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(head);
    if (!m) return undefined;
    return path.basename(m[1]!) === 'env' ? m[2] : path.basename(m[1]!);
  } catch {
    return undefined;
  }
}

/**
 * Each command that needs an interpreter the Node.js Lambda runtime lacks, with what to do.
 * With layers given, their owner vouches for what they provide: nothing is reported.
 */
export function interpreterProblems(jobPath: string, programs: JobPrograms, hasLayers: boolean): string[] {
  if (hasLayers) return [];
  const root = path.dirname(jobPath);
  const problems: string[] = [];
  for (const { role, step, command } of programs.commands) {
    const needs = new Set<string>();
    for (const program of programsRun(command)) {
      if (MISSING_INTERPRETERS.test(path.basename(program))) needs.add(path.basename(program));
      // A script run directly (`./map.py`) needs what its #! line names.
      const interpreter = shebangOf(path.resolve(root, program));
      if (interpreter && MISSING_INTERPRETERS.test(interpreter)) needs.add(interpreter);
    }
    for (const interpreter of needs)
      problems.push(
        `the ${role} of ${step} (\`${command}\`) runs ${interpreter}, which the Node.js Lambda runtime does not have: ` +
          `give the map and reduce functions a layer that provides it (the \`layers\` prop; docs/stream-programs.md has a recipe for Python), ` +
          'or make the program self-contained (a Node.js script, or a binary built for Amazon Linux 2023 on arm64)',
      );
  }
  return problems;
}
