/**
 * Where and how a task's stream programs run: a task directory of their own, in which the files
 * they name (relative to the job file) and the job's `files` appear by name, and Hadoop
 * Streaming's environment (job properties, `-cmdenv`, params, `mapreduce_map_input_file` and
 * the other task variables).
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvalidJobError } from '../errors.js';
import type { AnyJob } from '../job.js';
import { DEFAULT_STREAM_CONF } from '../jobconf.js';
import type { RunContext } from '../spec.js';
import type { MutableContext } from './context.js';
import type { TaskEnv } from './env.js';
import type { ProgramOptions } from './stream.js';

/** Where stream programs' files are in a deployed map or reduce function's bundle (`/var/task/programs`). */
export const PROGRAMS_DIR = 'programs';

/** The input a mapper program is reading, for `mapreduce_map_input_file` and friends. */
export interface InputRange {
  uri: string;
  start: number;
  end: number;
}

export interface ProgramTask {
  /** The task directory: the programs' working directory. */
  readonly dir: string;
  /** How to run `command` in this task (for a mapper, reading `input`). */
  options(command: string, input?: InputRange): ProgramOptions;
  /** Removes the task directory. */
  close(): void;
}

/** Characters that separate the words a command may name files with (shell syntax, `--opt=file`). */
const WORD_BREAK = /[\s'"`|&;<>()=$,]+/;

/**
 * The relative paths a command names that exist under `root`, by their first segment (so
 * `node programs/map.mjs` brings `programs/` along, with the modules beside it).
 */
export function namedEntries(command: string, root: string): string[] {
  const found = new Set<string>();
  for (const word of command.split(WORD_BREAK)) {
    if (word === '' || word.startsWith('-') || path.isAbsolute(word) || word.startsWith('~')) continue;
    const rel = path.normalize(word);
    if (!fs.existsSync(path.join(root, rel))) continue;
    const first = rel.split(path.sep)[0]!;
    if (first === '..')
      throw new InvalidJobError(
        `The command \`${command}\` names ${word}, outside the job file's directory ${root}: programs run in a task directory ` +
          "that holds the job directory's files by name. Move it beside the job file (or below it), or give an absolute path.",
      );
    if (first !== '.') found.add(first);
  }
  return [...found];
}

/** A `files` entry: `path` or `path#name`, the path relative to `root`. */
function fileEntry(entry: string, root: string): { source: string; name: string } {
  const hash = entry.lastIndexOf('#');
  const file = hash > 0 ? entry.slice(0, hash) : entry;
  const name = hash > 0 ? entry.slice(hash + 1) : path.basename(file);
  const source = path.resolve(root, file);
  if (!fs.existsSync(source))
    throw new InvalidJobError(
      `files: ${entry} does not exist (paths are relative to the job file's directory, ${root}).`,
    );
  if (name === '' || name.includes('/') || name === '.' || name === '..')
    throw new InvalidJobError(`files: ${entry}: the name after # must be a plain file name.`);
  return { source, name };
}

/**
 * Makes the task directory of a map or reduce task attempt: a symbolic link for each of the
 * job's `files` (and the caller's), then for each entry of the job's directory its commands
 * name. Nothing is copied.
 */
export function openProgramTask(env: TaskEnv, job: AnyJob, run: RunContext, ctx: MutableContext): ProgramTask {
  const root = path.resolve(env.programRoot ?? '.');
  const { phase, task, attempt } = ctx.ref;
  const dir = path.join(env.tmpDir, `streaming-task-${run.jobId}-${phase[0]}${task}-${attempt}`);
  fs.mkdirSync(dir, { recursive: true });
  try {
    const linked = new Set<string>();
    for (const entry of [...(job.files ?? []), ...(run.files ?? [])]) {
      const { source, name } = fileEntry(entry, root);
      if (linked.has(name)) throw new InvalidJobError(`files: two entries appear as ${name}: rename one with #name.`);
      fs.symlinkSync(source, path.join(dir, name));
      linked.add(name);
    }
    for (const command of [job.mapper, job.combiner, job.reducer])
      for (const name of command ? namedEntries(command, root) : [])
        if (!linked.has(name)) {
          fs.symlinkSync(path.join(root, name), path.join(dir, name));
          linked.add(name);
        }
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }

  const ids = hadoopIds(run, phase, task, attempt);
  const stream = run.stream ?? DEFAULT_STREAM_CONF;
  const reporter = {
    counter: (group: string, name: string, amount: number) => ctx.incrementCounter(group, name, amount),
    status: (message: string) => ctx.status(message),
    log: (line: string) => ctx.stderr(line),
  };
  return {
    dir,
    options(command, input) {
      const environment: NodeJS.ProcessEnv = {
        ...inherited(),
        // Last, so the system's commands win over files of the same name; a bare `map.py` still runs.
        PATH: `${process.env.PATH ?? '/usr/bin:/bin'}:${dir}`,
        ...run.programEnv,
        ...ids,
        ...(input ? inputVariables(input) : {}),
      };
      return {
        command,
        where: `${phase} task ${task}`,
        cwd: dir,
        env: environment,
        timeoutMs: stream.taskTimeoutMs,
        nonZeroExitIsFailure: stream.nonZeroExitIsFailure,
        reporterPrefix: stream.reporterPrefix,
        reporter,
      };
    },
    close() {
      // Links only (and what the programs left): removing them never touches their targets.
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The engine's environment as programs inherit it, less PYTHONUNBUFFERED: a program's stdout is
 * a pipe the engine reads to its end, so writing each line with a system call of its own only
 * costs (twice the time of a Python word count). A job that wants it sets it (`env`, `-cmdenv`).
 */
function inherited(): NodeJS.ProcessEnv {
  const { PYTHONUNBUFFERED: _, ...env } = process.env;
  return env;
}

/** Hadoop's task variables, under their Hadoop 3 names and the Hadoop 1 names scripts still read. */
function hadoopIds(run: RunContext, phase: 'map' | 'reduce', task: number, attempt: string): Record<string, string> {
  const t = `${phase === 'map' ? 'm' : 'r'}_${String(task).padStart(6, '0')}`;
  const vars: Record<string, string> = {
    mapreduce_job_id: run.jobId,
    mapreduce_job_name: run.name,
    mapreduce_task_id: `task_${run.jobId}_${t}`,
    mapreduce_task_attempt_id: `attempt_${run.jobId}_${t}_${attempt}`,
    mapreduce_task_partition: String(task),
    mapreduce_task_ismap: String(phase === 'map'),
    mapreduce_output_fileoutputformat_outputdir: run.output,
  };
  return {
    ...vars,
    mapred_job_id: vars.mapreduce_job_id!,
    mapred_tip_id: vars.mapreduce_task_id!,
    mapred_task_id: vars.mapreduce_task_attempt_id!,
    mapred_task_partition: vars.mapreduce_task_partition!,
    mapred_task_is_map: vars.mapreduce_task_ismap!,
    mapred_output_dir: run.output,
  };
}

function inputVariables(input: InputRange): Record<string, string> {
  const start = String(input.start);
  const length = String(input.end - input.start);
  return {
    mapreduce_map_input_file: input.uri,
    mapreduce_map_input_start: start,
    mapreduce_map_input_length: length,
    map_input_file: input.uri,
    map_input_start: start,
    map_input_length: length,
  };
}
