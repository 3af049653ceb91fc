import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { compareUtf8 } from '../functions/format/records.js';
import type { AnyJob } from '../functions/job.js';
import { commit } from '../functions/phases/commit.js';
import type { TaskEnv } from '../functions/phases/env.js';
import { runMap } from '../functions/phases/map.js';
import { plan, type Split } from '../functions/phases/plan.js';
import { runReduce } from '../functions/phases/reduce.js';
import { type ReducerItem, shufflePlan } from '../functions/phases/shuffle.js';
import { StorageRouter } from '../functions/storage/index.js';
import { fromItemLocation } from '../functions/storage/uri.js';
import group from './fixtures/group.js';
import { partFiles, tempDir } from './helpers.js';

/**
 * Runs the phases in order in this process, without the state machine: the shuffle's
 * properties are the phases' own, and this is fast enough for hundreds of cases.
 */
async function runPhases(job: AnyJob, spec: Record<string, unknown>): Promise<void> {
  const env: TaskEnv = {
    storage: new StorageRouter(),
    attempt: Math.random().toString(36).slice(2),
    tmpDir: tempDir('streaming-spill-'),
  };
  const planned = await plan(env, job, spec);
  const read = async (loc: { Bucket: string; Key: string }) =>
    JSON.parse(fs.readFileSync(new URL(fromItemLocation(loc)), 'utf8'));
  const splits = (await read(planned.plan.splits)) as Split[];
  for (const s of splits) await runMap(env, job, planned.job, s);
  if (planned.job.reducers > 0) {
    const sh = await shufflePlan(env, planned.job, splits.length);
    for (const item of (await read(sh.reducers)) as ReducerItem[]) await runReduce(env, job, planned.job, item);
  }
  await commit(env, planned.job, planned);
}

const key = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'b', '\t', '\n', '\r', '\u0000', 'é', '😀', '\uffff', ' '), maxLength: 4 }),
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(null, true, [1, 'x'], { a: 1 }),
);
const value = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 5 }), fc.integer(), fc.constant({ nested: ['\t\n'] }));

describe('shuffle', () => {
  it('groups like an in-memory group-by, values in input order, keys in UTF-8 byte order per partition', async () => {
    let spills = 0;
    let multiTask = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(key, value), { minLength: 20, maxLength: 150 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 40, max: 600 }),
        fc.integer({ min: 1024, max: 4096 }),
        async (records, reducers, splitSize, sortBufferBytes) => {
          const dir = tempDir();
          fs.writeFileSync(path.join(dir, 'in.jsonl'), records.map(([k, v]) => JSON.stringify({ k, v })).join('\n'));
          const out = path.join(dir, 'out');
          await runPhases(group as AnyJob, {
            input: [path.join(dir, 'in.jsonl')],
            output: out,
            reducers,
            splitSize,
            sortBufferBytes,
            scratch: path.join(dir, 'scratch'),
          });

          const expected = new Map<string, unknown[]>();
          for (const [k, v] of records) {
            const text = typeof k === 'string' ? k : JSON.stringify(k);
            expected.set(text, [...(expected.get(text) ?? []), v]);
          }
          const got = new Map<string, unknown[]>();
          const parts = partFiles(out);
          expect(parts).toHaveLength(reducers);
          for (const part of parts) {
            const keys: string[] = [];
            for (const line of fs.readFileSync(part, 'utf8').split('\n').filter(Boolean)) {
              const { key: k, value: vs } = JSON.parse(line) as { key: unknown; value: unknown[] };
              const text = typeof k === 'string' ? k : JSON.stringify(k);
              expect(got.has(text)).toBe(false);
              got.set(text, vs);
              keys.push(text);
            }
            expect([...keys].sort(compareUtf8)).toEqual(keys);
          }
          expect(got).toEqual(expected);
          const manifest = JSON.parse(fs.readFileSync(path.join(out, '_manifest.json'), 'utf8'));
          expect(manifest.counters.records ?? 0).toBe(records.length);
          spills += manifest.map.spills;
          if (manifest.map.tasks > 1) multiTask++;
          expect(fs.existsSync(path.join(out, '_SUCCESS'))).toBe(true);
          fs.rmSync(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 150 },
    );
    // The cases must have exercised spilling and merging across map tasks.
    expect(spills).toBeGreaterThan(50);
    expect(multiTask).toBeGreaterThan(50);
  });
});
