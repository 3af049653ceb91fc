/**
 * Hand-written TF-IDF, the yardstick of jobs/tfidf.ts: the same output (one jsonl line
 * {"key": id, "value": {"size": |V|, "indices": [i, …], "values": [w, …]}} per document, the
 * vocabulary numbered in code point order; scikit-learn's TfidfVectorizer defaults: raw tf,
 * smooth idf, unit L2 norm), made as fast as plain Node allows, in bounded memory like the job:
 * two passes over the input, the first counting document frequencies, the second weighting
 * each document as it is read.
 *
 * N workers: worker k takes the k-th of N contiguous line-aligned ranges of the input in both
 * passes and writes part-k (its documents in input order); between the passes the main thread
 * adds up the workers' df tables and hands the sum back.
 *
 *   node bench/baselines/tfidf.mjs [--workers N] --output DIR <input file or dir>
 */
import path from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { baselineArgs, forEachLine, forEachToken, inputFiles, lineRanges, Output } from './documents.mjs';

const USAGE = 'usage: node bench/baselines/tfidf.mjs [--workers N] --output DIR <input file or dir>\n';

function documentOf(line) {
  const doc = JSON.parse(line);
  if ((typeof doc.id !== 'number' && typeof doc.id !== 'string') || typeof doc.text !== 'string')
    throw new TypeError('this baseline reads {"id": <number or string>, "text": "…"} lines');
  return doc;
}

/** Pass 1 over a range: its documents, and term → number of its documents holding the term. */
function countDocuments(segments) {
  const terms = new Map(); // term → { last: the last document it was seen in, df }
  let documents = 0;
  forEachLine(segments, (line) => {
    const { text } = documentOf(line);
    const doc = ++documents;
    forEachToken(text, (term) => {
      const e = terms.get(term);
      if (e === undefined) terms.set(term, { last: doc, df: 1 });
      else if (e.last !== doc) {
        e.last = doc;
        e.df++;
      }
    });
  });
  const df = new Map();
  for (const [term, e] of terms) df.set(term, e.df);
  return { documents, df };
}

/**
 * Pass 2 over a range: each document's vector, written as a line in input order. One lookup
 * per token: the term's entry holds its column, its idf and its count in the current document.
 */
function weighRange(segments, vocabulary, file) {
  const out = new Output(file);
  const found = [];
  const size = vocabulary.size;
  let doc = 0;
  forEachLine(segments, (line) => {
    const { id, text } = documentOf(line);
    doc++;
    found.length = 0;
    forEachToken(text, (term) => {
      const e = vocabulary.get(term);
      if (e === undefined) throw new Error(`"${term}" is not in the df table`);
      if (e.doc !== doc) {
        e.doc = doc;
        e.tf = 1;
        found.push(e);
      } else e.tf++;
    });
    found.sort((a, b) => a.index - b.index);
    let sq = 0;
    for (const e of found) {
      const w = e.tf * e.idf;
      e.w = w;
      sq += w * w;
    }
    const norm = Math.sqrt(sq);
    const indices = new Array(found.length);
    const values = new Array(found.length);
    for (let i = 0; i < found.length; i++) {
      indices[i] = found[i].index;
      values[i] = found[i].w / norm;
    }
    out.write(`${JSON.stringify({ key: id, value: { size, indices, values } })}\n`);
  });
  out.close();
}

/** Code point order (UTF-8's, the job's), where JavaScript's sort compares UTF-16 units. */
function byCodePoint(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    return sx === sy ? x - y : sx ? 1 : -1;
  }
  return a.length - b.length;
}

/** The terms in column order with their df, from a term → df map. */
function sortedTable(df) {
  const terms = [...df.keys()].sort(byCodePoint);
  return { terms, dfs: terms.map((t) => df.get(t)) };
}

/** Each term's entry: its column (rank in code point order) and idf, ln((1 + n) / (1 + df)) + 1 as the job computes it. */
function vocabularyOf(terms, dfs, n) {
  const vocabulary = new Map();
  terms.forEach((term, index) => {
    vocabulary.set(term, {
      index,
      idf: Math.log((1 + n) / (1 + dfs[index])) + 1,
      doc: 0,
      tf: 0,
      w: 0,
    });
  });
  return vocabulary;
}

const partFile = (output, k) => path.join(output, `part-${String(k).padStart(5, '0')}`);

if (isMainThread) {
  const { workers, output, input } = baselineArgs(process.argv.slice(2), USAGE);
  const ranges = lineRanges(inputFiles(input), workers);
  if (workers === 1) {
    const { documents, df } = countDocuments(ranges[0]);
    const { terms, dfs } = sortedTable(df);
    weighRange(ranges[0], vocabularyOf(terms, dfs, documents), partFile(output, 0));
  } else {
    const pool = ranges.map(
      (segments, k) => new Worker(new URL(import.meta.url), { workerData: { segments, k, output } }),
    );
    const next = () =>
      Promise.all(
        pool.map(
          (w) =>
            new Promise((resolve, reject) => {
              w.once('message', resolve);
              w.once('error', reject);
            }),
        ),
      );
    const counted = await next();
    const df = new Map();
    let documents = 0;
    for (const c of counted) {
      documents += c.documents;
      if (c.dfs.length === 0) continue;
      c.terms.split('\n').forEach((term, i) => {
        df.set(term, (df.get(term) ?? 0) + c.dfs[i]);
      });
    }
    const table = sortedTable(df);
    const terms = table.terms.join('\n');
    const dfs = Int32Array.from(table.dfs);
    const written = next();
    for (const w of pool) w.postMessage({ terms, dfs, documents });
    await written;
    await Promise.all(pool.map((w) => w.terminate()));
  }
} else {
  const { segments, k, output } = workerData;
  const { documents, df } = countDocuments(segments);
  const dfs = Int32Array.from(df.values());
  parentPort.postMessage({ documents, terms: [...df.keys()].join('\n'), dfs }, [dfs.buffer]);
  parentPort.once('message', ({ terms, dfs: all, documents: n }) => {
    weighRange(segments, vocabularyOf(terms ? terms.split('\n') : [], all, n), partFile(output, k));
    parentPort.postMessage('done');
  });
}
