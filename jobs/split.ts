/**
 * Keeps one side of a deterministic train/test split of JSON lines (jobs/lib/split.ts): run it
 * twice, `part=train` and `part=test`, for the two data sets. Map-only; each line is written
 * as it was read (re-serialised JSON).
 *
 * Parameters: part (train|test, required); testFraction (default 0.2); seed (default 0);
 * key (the field whose value decides, default "id"; an empty key hashes the whole record).
 * Counters: train, test (the rows of each side seen).
 *
 *   streaming run jobs/split.ts --input docs.jsonl --output train/ --param part=train
 *   streaming run jobs/split.ts --input docs.jsonl --output test/ --param part=test
 */
import { defineJob, InvalidJobError } from 'streaming';
import { sideOf, splitParams } from './lib/split.js';

export default defineJob({
  name: 'split',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const s = splitParams(ctx, 'split', 'id');
    const line = JSON.stringify(record);
    let key = line;
    if (s.key !== undefined) {
      const v = (record as Record<string, unknown> | null)?.[s.key];
      if (v === undefined || v === null || typeof record !== 'object' || !Object.hasOwn(record as object, s.key))
        throw new InvalidJobError(
          `A record in ${ctx.inputUri} has no "${s.key}" field to split by: give --param key=<field> (or key= for the whole record).`,
        );
      key = typeof v === 'string' ? v : JSON.stringify(v);
    }
    const side = sideOf(key, s);
    ctx.count(side);
    if (side === s.part) emit(line, undefined);
  },
  reducers: 0,
  output: { format: 'text' },
});
