import cliProgress from 'cli-progress';
import type { PhaseProgress, Progress } from './local/engine.js';

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
  const finished = new Set<string>();
  return {
    update(p) {
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
      const line = `${fmt('map', p.map)}  ${fmt('reduce', p.reduce)}`;
      const now = Date.now();
      if (line !== lastLine && (completed || now - last >= 1000)) {
        process.stderr.write(`${line}\n`);
        last = now;
        lastLine = line;
      }
    },
    stop() {},
  };
}

function fmt(name: string, p: PhaseProgress): string {
  const retries = p.failedAttempts > 0 ? `, ${p.failedAttempts} failed attempts` : '';
  return `${name} ${p.done}/${p.total ?? '?'} (${p.running} running${retries})`;
}

function barReporter(): Reporter {
  const multi = new cliProgress.MultiBar(
    {
      format: ' {phase} [{bar}] {value}/{total} tasks  {running} running{retries}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars: Partial<Record<'map' | 'reduce', cliProgress.SingleBar>> = {};
  const show = (name: 'map' | 'reduce', p: PhaseProgress) => {
    if (p.total === undefined) return;
    const payload = {
      phase: name.padEnd(6),
      running: p.running,
      retries: p.failedAttempts ? `, ${p.failedAttempts} retried` : '',
    };
    const bar = bars[name] ?? (bars[name] = multi.create(p.total, 0, payload));
    bar.setTotal(p.total);
    bar.update(p.done, payload);
  };
  return {
    update(p) {
      show('map', p.map);
      show('reduce', p.reduce);
    },
    stop() {
      multi.stop();
    },
  };
}
