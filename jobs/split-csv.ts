/**
 * Keeps one side of a deterministic train/test split of a CSV table (jobs/lib/split.ts): run
 * it twice, `part=train` and `part=test`. Map-only; every part file starts with the header, so
 * each is a table of its own; fields are written back with RFC 4180 quoting where they need it.
 *
 * Parameters: part (train|test, required); testFraction (default 0.2); seed (default 0);
 * key (the column whose value decides; default: the whole row, its fields as a JSON list).
 * Counters: train, test.
 *
 *   streaming run jobs/split-csv.ts --input penguins.csv --output train/ --param part=train
 */
import { defineJob, InvalidJobError } from 'streaming';
import { requireColumns } from './lib/numeric.js';
import { sideOf, splitParams } from './lib/split.js';

const field = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
const line = (fields: string[]) => fields.map(field).join(',');

/** The task (attempt) that has written its header, and that header. */
let headed = { attempt: '', header: '' };

export default defineJob({
  name: 'split-csv',
  input: { format: 'csv' },
  map(row, emit, ctx) {
    const s = splitParams(ctx, 'split-csv', undefined);
    if (s.key !== undefined) requireColumns(row, [s.key], ctx, 'split-csv');
    const header = Object.keys(row);
    const text = line(header);
    if (headed.attempt !== ctx.task.attempt) {
      headed = { attempt: ctx.task.attempt, header: text };
      emit(text, undefined);
    } else if (headed.header !== text)
      throw new InvalidJobError(
        `${ctx.inputUri} has another header than the file before it in this task (${text} / ${headed.header}): split tables of one header at a time.`,
      );
    const fields = header.map((h) => row[h]!);
    const side = sideOf(s.key === undefined ? JSON.stringify(fields) : row[s.key]!, s);
    ctx.count(side);
    if (side === s.part) emit(line(fields), undefined);
  },
  reducers: 0,
  output: { format: 'text' },
});
