/**
 * Hand-written inverted index, the yardstick of jobs/inverted-index.ts: the same output (one
 * jsonl line {"key": term, "value": [ids, ascending]} per term, terms spread over part files),
 * made as fast as plain Node allows. Numeric document ids only.
 *
 * One worker: reads everything, one map term → ids, writes part-00000. N workers: worker k reads
 * the k-th of N contiguous line-aligned ranges of the input and builds its own map; then each
 * worker hands every other one the terms of its partition (transferred typed arrays, no copy),
 * and worker p writes part-p with the ids of its terms joined in range order (so already
 * ascending when ids grow through the input; sorted otherwise).
 *
 *   node bench/baselines/inverted-index.mjs [--workers N] --output DIR <input file or dir>
 */
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { baselineArgs, forEachLine, forEachToken, inputFiles, lineRanges, Output, partitionOf } from './documents.mjs';

const USAGE = 'usage: node bench/baselines/inverted-index.mjs [--workers N] --output DIR <input file or dir>\n';

/** term → { last: the last document it was seen in, ids } over one range of lines. */
function indexRange(segments) {
  const index = new Map();
  let doc = 0;
  forEachLine(segments, (line) => {
    const { id, text } = JSON.parse(line);
    if (typeof id !== 'number' || typeof text !== 'string')
      throw new TypeError('this baseline reads {"id": <number>, "text": "…"} lines');
    doc++;
    forEachToken(text, (term) => {
      const e = index.get(term);
      if (e === undefined) index.set(term, { last: doc, ids: [id] });
      else if (e.last !== doc) {
        e.last = doc;
        e.ids.push(id);
      }
    });
  });
  return index;
}

function sortedIds(ids) {
  for (let i = 1; i < ids.length; i++) if (ids[i - 1] >= ids[i]) return [...new Set(ids)].sort((a, b) => a - b);
  return ids;
}

function writePart(file, entries) {
  const out = new Output(file);
  for (const [term, ids] of entries)
    out.write(`{"key":${JSON.stringify(term)},"value":[${sortedIds(ids).join(',')}]}\n`);
  out.close();
}

/** One worker's terms of partition p, as typed arrays that transfer without a copy. */
function encode(index, p, n) {
  const terms = [];
  let total = 0;
  for (const [term, e] of index)
    if (partitionOf(term, n) === p) {
      terms.push(term);
      total += e.ids.length;
    }
  const counts = new Int32Array(terms.length);
  const ids = new Float64Array(total);
  let at = 0;
  terms.forEach((term, i) => {
    const list = index.get(term).ids;
    counts[i] = list.length;
    ids.set(list, at);
    at += list.length;
  });
  return { terms: terms.join('\n'), counts, ids };
}

function merge(pieces) {
  const merged = new Map();
  for (const { terms, counts, ids } of pieces) {
    if (counts.length === 0) continue;
    let at = 0;
    terms.split('\n').forEach((term, i) => {
      const list = merged.get(term);
      const slice = ids.subarray(at, at + counts[i]);
      at += counts[i];
      if (list === undefined) merged.set(term, Array.from(slice));
      else for (const id of slice) list.push(id);
    });
  }
  return merged;
}

if (isMainThread) {
  const { workers, output, input } = baselineArgs(process.argv.slice(2), USAGE);
  const ranges = lineRanges(inputFiles(input), workers);
  if (workers === 1) {
    const index = indexRange(ranges[0]);
    writePart(
      path.join(output, 'part-00000'),
      [...index].map(([term, e]) => [term, e.ids]),
    );
  } else {
    const pool = ranges.map(
      (segments, k) => new Worker(new URL(import.meta.url), { workerData: { segments, k, workers, output } }),
    );
    // Round 1: every worker's partitions; round 2: partition p of every worker, in range order, to worker p.
    const byWorker = await Promise.all(
      pool.map(
        (w) =>
          new Promise((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    const done = pool.map(
      (w) =>
        new Promise((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        }),
    );
    pool.forEach((w, p) => {
      const pieces = byWorker.map((parts) => parts[p]);
      w.postMessage(
        pieces,
        pieces.flatMap((x) => [x.counts.buffer, x.ids.buffer]),
      );
    });
    await Promise.all(done);
    await Promise.all(pool.map((w) => w.terminate()));
  }
} else {
  const { segments, k, workers, output } = workerData;
  const index = indexRange(segments);
  const parts = [];
  for (let p = 0; p < workers; p++) parts.push(encode(index, p, workers));
  index.clear();
  parentPort.postMessage(
    parts,
    parts.flatMap((x) => [x.counts.buffer, x.ids.buffer]),
  );
  parentPort.once('message', (pieces) => {
    writePart(path.join(output, `part-${String(k).padStart(5, '0')}`), merge(pieces));
    parentPort.postMessage('done');
  });
}
