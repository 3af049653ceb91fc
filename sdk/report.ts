/**
 * `streaming report <output>`: one self-contained HTML page (no scripts, no external files)
 * from a completed job's `_manifest.json`: a timeline of every task by phase — where the time
 * went, which tasks straggled and which attempts failed and were retried — its records and
 * bytes, and the phase totals.
 */
import type { JobManifest } from '../functions/phases/commit.js';

const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;

/** A task is a straggler when it ran more than this many times its phase's median. */
export const STRAGGLER_FACTOR = 1.5;

/** How long each worker sat idle during a phase (its span: first task start to last task end). */
export interface PhaseIdle {
  /** Seconds from the phase's first task start to its last task end. */
  span: number;
  /** Idle seconds of each worker that ran a task of the job, in the order first seen. */
  idle: { worker: string; seconds: number }[];
}

/**
 * Idle time per worker in each phase, from the tasks' timings (a worker ran one task at a
 * time; its idle time is the phase's span less the time its tasks of that phase took).
 * Undefined when the tasks do not say which worker ran them (the cloud) or one worker ran all.
 */
export function idleByWorker(m: JobManifest): { map: PhaseIdle; reduce?: PhaseIdle } | undefined {
  const workers = [...new Set(m.tasks.map((t) => t.worker))];
  if (workers.length < 2 || workers.includes(undefined)) return undefined;
  const phase = (p: 'map' | 'reduce'): PhaseIdle | undefined => {
    const ts = m.tasks.filter((t) => t.phase === p);
    if (ts.length === 0) return undefined;
    const span = (Math.max(...ts.map((t) => t.end)) - Math.min(...ts.map((t) => t.start))) / 1000;
    const idle = workers.map((worker) => {
      const busy = ts.filter((t) => t.worker === worker).reduce((s, t) => s + t.end - t.start, 0) / 1000;
      return { worker: worker!, seconds: Math.max(0, span - busy) };
    });
    return { span, idle };
  };
  const map = phase('map');
  if (!map) return undefined;
  const reduce = phase('reduce');
  return reduce ? { map, reduce } : { map };
}

/** "5.21 s, idle 0.04 s / 0.31 s per worker": a phase's span and each worker's idle time. */
export function describeIdle(p: PhaseIdle): string {
  return `${p.span.toFixed(2)} s, idle ${p.idle.map((i) => `${i.seconds.toFixed(2)} s`).join(' / ')} per worker`;
}

export function renderReport(m: JobManifest): string {
  const tasks = [...m.tasks].sort((a, b) => (a.phase === b.phase ? a.task - b.task : a.phase === 'map' ? -1 : 1));
  // Manifests from before failed attempts were recorded have none.
  const failed = m.failedAttempts ?? [];
  const failedOf = (phase: string, task: number) => failed.filter((f) => f.phase === phase && f.task === task);
  const t0 = Math.min(m.timings.start, ...tasks.map((t) => t.start), ...failed.map((f) => f.start));
  const t1 = Math.max(m.timings.end, ...tasks.map((t) => t.end), ...failed.map((f) => f.end));
  const span = Math.max(1, t1 - t0);
  const median = (phase: string) => {
    const d = tasks
      .filter((t) => t.phase === phase)
      .map((t) => t.end - t.start)
      .sort((a, b) => a - b);
    return d.length === 0 ? 0 : d[d.length >> 1]!;
  };
  const medians = { map: median('map'), reduce: median('reduce') };
  const width = 900;
  const left = 90;
  const row = 14;
  const height = tasks.length * row + 30;
  const x = (t: number) => left + ((t - t0) / span) * width;
  const bars = tasks
    .map((t, i) => {
      const seconds = (t.end - t.start) / 1000;
      const straggler = t.end - t.start > STRAGGLER_FACTOR * medians[t.phase] && tasks.length > 2;
      const y = 20 + i * row;
      const w = Math.max(1, x(t.end) - x(t.start));
      const retries = failedOf(t.phase, t.task)
        .map(
          (f) =>
            `<rect class="task ${t.phase} failed" data-phase="${t.phase}" data-task="${t.task}" data-failed="true" ` +
            `x="${x(f.start).toFixed(1)}" y="${y}" width="${Math.max(1, x(f.end) - x(f.start)).toFixed(1)}" height="${row - 3}">` +
            `<title>${esc(`${t.phase} task ${t.task}, attempt ${f.attempt} failed after ${((f.end - f.start) / 1000).toFixed(3)} s: ${f.error.name}: ${f.error.message}`)}</title></rect>`,
        )
        .join('');
      return (
        `<text x="${left - 6}" y="${y + 10}" text-anchor="end">${t.phase} ${t.task}</text>` +
        retries +
        `<rect class="task ${t.phase}${straggler ? ' straggler' : ''}" data-phase="${t.phase}" data-task="${t.task}" ` +
        `x="${x(t.start).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${row - 3}">` +
        `<title>${esc(`${t.phase} task ${t.task}, attempt ${t.attempt}: ${seconds.toFixed(3)} s, ${t.records} records, ${mb(t.bytes ?? 0)}${straggler ? ' (straggler)' : ''}`)}</title></rect>`
      );
    })
    .join('\n');
  const ticks = Array.from({ length: 6 }, (_, i) => {
    const t = t0 + (span * i) / 5;
    return `<line x1="${x(t)}" x2="${x(t)}" y1="12" y2="${height}" class="tick"/><text x="${x(t)}" y="10" text-anchor="middle">${((t - t0) / 1000).toFixed(2)} s</text>`;
  }).join('');
  const phaseRow = (phase: 'map' | 'reduce') => {
    const ts = tasks.filter((t) => t.phase === phase);
    const busy = ts.reduce((s, t) => s + (t.end - t.start), 0) / 1000;
    const records = ts.reduce((s, t) => s + t.records, 0);
    const bytes = ts.reduce((s, t) => s + (t.bytes ?? 0), 0);
    const stragglers = ts.filter((t) => t.end - t.start > STRAGGLER_FACTOR * medians[phase] && tasks.length > 2).length;
    const io = m.io?.[phase];
    const retried = failed.filter((f) => f.phase === phase).length;
    const idle = idleByWorker(m)?.[phase];
    return `<tr><td>${phase}</td><td>${ts.length}</td><td>${busy.toFixed(2)} s</td><td>${(medians[phase] / 1000).toFixed(3)} s</td><td>${stragglers}</td><td>${retried}</td><td>${records.toLocaleString('en')}</td><td>${mb(bytes)}</td><td>${io ? `${io.requests} / ${mb(io.bytesRead)} / ${mb(io.bytesWritten)}` : '-'}</td><td>${idle ? describeIdle(idle) : '-'}</td></tr>`;
  };
  const taskRows = tasks
    .map(
      (t) =>
        failedOf(t.phase, t.task)
          .map(
            (f) =>
              `<tr class="failed"><td>${t.phase}</td><td>${t.task}</td><td>${esc(f.attempt)}</td><td>${((f.start - t0) / 1000).toFixed(3)}</td><td>${((f.end - f.start) / 1000).toFixed(3)}</td><td colspan="2">failed: ${esc(`${f.error.name}: ${f.error.message}`)}</td></tr>\n`,
          )
          .join('') +
        `<tr><td>${t.phase}</td><td>${t.task}</td><td>${esc(t.attempt)}</td><td>${((t.start - t0) / 1000).toFixed(3)}</td><td>${((t.end - t.start) / 1000).toFixed(3)}</td><td>${t.records.toLocaleString('en')}</td><td>${mb(t.bytes ?? 0)}</td><td class="said">${said(t)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(m.jobId)}: job report</title>
<style>
body { font: 13px system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 12px 0 24px; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
svg text { font-size: 10px; fill: #444; } .tick { stroke: #eee; }
rect.map { fill: #4e79a7; } rect.reduce { fill: #f28e2b; } rect.straggler { stroke: #d62728; stroke-width: 2; }
rect.failed { fill: url(#failed); stroke: #d62728; stroke-width: 1; } tr.failed td { color: #b00; }
td.said { text-align: left; max-width: 480px; } td.said pre { margin: 2px 0; font-size: 11px; white-space: pre-wrap; }
</style></head><body>
<h1>${esc(m.job)} <small>${esc(m.jobId)}</small></h1>
<p>${esc(m.output)} — ${m.timings.seconds.toFixed(2)} s; input ${m.input.objects} objects, ${mb(m.input.bytes)}, ${m.input.records.toLocaleString('en')} records;
output ${m.parts.length} parts, ${m.records.toLocaleString('en')} records, ${mb(m.bytes)}${m.steps > 1 ? `; step ${m.step + 1} of ${m.steps}` : ''}.</p>
<h2>Phases</h2>
<table><tr><th>phase</th><th>tasks</th><th>task time</th><th>median</th><th>stragglers (&gt; ${STRAGGLER_FACTOR}× median)</th><th>failed attempts</th><th>input records</th><th>input bytes</th><th>storage requests / read / written</th><th>span, idle per worker</th></tr>
${phaseRow('map')}
${phaseRow('reduce')}
</table>
${counterTable(m)}${warningList(m)}
<h2>Timeline</h2>
<p>One row per task: its published attempt (hover for details), and before it, hatched in red, the attempts that failed and were retried (hover for the error); stragglers outlined in red.</p>
<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${left + width + 20}" height="${height}">
<defs><pattern id="failed" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#fbe3e3"/><line x1="0" y1="0" x2="0" y2="6" stroke="#d62728" stroke-width="3"/></pattern></defs>${ticks}
${bars}
</svg>
<h2>Tasks</h2>
<table><tr><th>phase</th><th>task</th><th>attempt</th><th>start (s)</th><th>seconds</th><th>records</th><th>bytes</th><th>status, stderr</th></tr>
${taskRows}
</table>
</body></html>
`;
}

/** A task's last status and the end of its programs' stderr (with where the whole log is). */
function said(t: JobManifest['tasks'][number]): string {
  const status = t.status !== undefined ? esc(t.status) : '';
  if (!t.stderr?.length) return status;
  const where = t.log ? ` — all of it in ${esc(t.log)}` : '';
  return `${status}<details><summary>stderr, last ${t.stderr.length} lines${where}</summary><pre>${esc(t.stderr.join('\n'))}</pre></details>`;
}

/** The job's own counters, then each group's (manifests from before groups have none). */
function counterTable(m: JobManifest): string {
  const groups: [string, Record<string, number>][] = [];
  if (Object.keys(m.counters).length > 0) groups.push([`${m.job} (ctx.count)`, m.counters]);
  groups.push(...Object.entries(m.counterGroups ?? {}));
  if (groups.length === 0) return '';
  const rows = groups
    .flatMap(([g, c]) =>
      Object.entries(c).map(
        ([k, v]) => `<tr><td>${esc(g)}</td><td>${esc(k)}</td><td>${v.toLocaleString('en')}</td></tr>`,
      ),
    )
    .join('\n');
  return `<h2>Counters</h2>\n<table id="counters"><tr><th>group</th><th>counter</th><th>value</th></tr>\n${rows}\n</table>\n`;
}

function warningList(m: JobManifest): string {
  if (!m.warnings?.length) return '';
  return `<h2>Warnings</h2>\n<ul>${m.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>\n`;
}
