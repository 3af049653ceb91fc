/** Real text from the dataset devDependencies, written as the JSON-lines documents the text jobs read. */
import fs from 'node:fs';
import path from 'node:path';

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

/** The documents of the docs' examples (docs/examples/text-datasets.mjs): the same data in tests and docs. */
export { spamAssassin, stateOfTheUnion } from '../docs/examples/text-datasets.mjs';
