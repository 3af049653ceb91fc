import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';
import type { PhaseProgress, Progress } from './local/task-progress.js';

/**
 * cli-progress, loaded when a bar is first drawn: most runs draw none (`--quiet`, output not a
 * terminal, CI), and loading it cost every command's start ~15 ms.
 */
const loadCliProgress = () => createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule;

export interface Reporter {
  update: (p: Progress) => void;
  stop: () => void;
}

/**
 * Progress of a local run on stderr: a bar per phase on a terminal (cli-progress), plain lines
 * otherwise (at most one a second, and one when a phase ends), nothing with `quiet`.
 */
export function progressReporter(opts: { quiet: boolean; tty: boolean }): Reporter {
  if (opts.quiet) return { update: () => {}, stop: () => {} };
  if (opts.tty) return barReporter();
  let last = 0;
  let lastLine = '';
  let step = 0;
  const finished = new Set<string>();
  /** A line held back by the once-a-second rule is written when its second is up, unless a newer one was. */
  let held: NodeJS.Timeout | undefined;
  const write = (line: string) => {
    if (held) clearTimeout(held);
    held = undefined;
    process.stderr.write(`${line}\n`);
    last = Date.now();
    lastLine = line;
  };
  return {
    update(p) {
      if (p.step !== step) {
        step = p.step;
        finished.clear();
      }
      if (p.map.total === undefined) return;
      // A line a second at most, plus one as each phase completes.
      let completed = false;
      for (const [name, ph] of [
        ['map', p.map],
        ['reduce', p.reduce],
      ] as const) {
        if (ph.total !== undefined && ph.done === ph.total && !finished.has(name)) {
          finished.add(name);
          completed = true;
        }
      }
      const line = `${stepLabel(p)}${fmt('map', p.map)}  ${fmt('reduce', p.reduce)}${statusOf(p)}`;
      if (line === lastLine) return;
      const wait = completed ? 0 : 1000 - (Date.now() - last);
      if (wait <= 0) write(line);
      else {
        if (held) clearTimeout(held);
        held = setTimeout(() => write(line), wait);
        held.unref();
      }
    },
    stop() {
      if (held) clearTimeout(held);
    },
  };
}

/** The latest task status (`reporter:status:…`, `ctx.status`), as the progress line ends with it. */
const statusOf = (p: Progress) => (p.status ? `  [${p.status.phase} ${p.status.task}: ${p.status.message}]` : '');

/** `step 2/3: ` for a multi-step job, nothing for a single one. */
const stepLabel = (p: Progress) => (p.steps > 1 ? `step ${p.step + 1}/${p.steps}: ` : '');

function fmt(name: string, p: PhaseProgress): string {
  const retries = p.failedAttempts > 0 ? `, ${p.failedAttempts} failed attempts` : '';
  return `${name} ${p.done}/${p.total ?? '?'} (${p.running} running${retries})`;
}

function barReporter(): Reporter {
  const cliProgress = loadCliProgress();
  const multi = new cliProgress.MultiBar(
    {
      format: ' {phase} [{bar}] {value}/{total} tasks  {running} running{retries}{status}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  // Bars per step and phase: a multi-step job shows each step's bars under the last one's.
  const bars = new Map<string, cliProgressModule.SingleBar>();
  let label = '';
  let status: Progress['status'];
  const show = (name: 'map' | 'reduce', p: PhaseProgress) => {
    if (p.total === undefined) return;
    const payload = {
      phase: `${label}${name.padEnd(6)}`,
      running: p.running,
      retries: p.failedAttempts ? `, ${p.failedAttempts} retried` : '',
      status: status?.phase === name ? `  [task ${status.task}: ${status.message.slice(0, 60)}]` : '',
    };
    let bar = bars.get(payload.phase);
    if (!bar) {
      bar = multi.create(p.total, 0, payload);
      bars.set(payload.phase, bar);
    }
    bar.setTotal(p.total);
    bar.update(p.done, payload);
  };
  return {
    update(p) {
      label = stepLabel(p);
      status = p.status;
      show('map', p.map);
      show('reduce', p.reduce);
    },
    stop() {
      multi.stop();
    },
  };
}
