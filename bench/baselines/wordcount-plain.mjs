#!/usr/bin/env node
/**
 * The plain single-threaded word count a user would write without Streaming, the yardstick of
 * the bench's user-written job (bench/jobs/user-wordcount.ts): each file read whole, its lines
 * lower-cased and split on the same regular expression, the words counted in a `Map`.
 *   node bench/baselines/wordcount-plain.mjs [--output FILE] [--json] <files or directories>
 * Output: `word<TAB>count` lines (in no particular order).
 */
import fs from 'node:fs';
import { inputFiles } from './documents.mjs';

const SEPARATORS = /[^\p{L}\p{N}_]+/u;

const args = process.argv.slice(2);
let output = null;
let json = false;
const paths = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--output') output = args[++i];
  else if (args[i] === '--json') json = true;
  else paths.push(args[i]);
}
if (paths.length === 0) {
  console.error('usage: wordcount-plain.mjs [--output FILE] [--json] <files or directories>');
  process.exit(2);
}

const t0 = process.hrtime.bigint();
const counts = new Map();
let bytes = 0;
let tokens = 0;
for (const file of paths.flatMap(inputFiles)) {
  const text = fs.readFileSync(file, 'utf8');
  bytes += fs.statSync(file).size;
  for (const line of text.split('\n')) {
    for (const word of line.toLowerCase().split(SEPARATORS)) {
      if (!word) continue;
      counts.set(word, (counts.get(word) ?? 0) + 1);
      tokens++;
    }
  }
}
if (output) {
  let out = '';
  for (const [word, n] of counts) out += `${word}\t${n}\n`;
  fs.writeFileSync(output, out);
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const r = {
  program: 'wordcount-plain',
  workers: 1,
  bytes,
  seconds,
  mbPerSec: bytes / 1e6 / seconds,
  tokens,
  words: counts.size,
};
console.log(
  json
    ? JSON.stringify(r)
    : `${r.program} bytes=${bytes} seconds=${seconds.toFixed(3)} MB/s=${r.mbPerSec.toFixed(1)} tokens=${tokens} words=${counts.size}`,
);
