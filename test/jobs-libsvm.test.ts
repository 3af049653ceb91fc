/**
 * jobs/libsvm.ts: feature vectors as LIBSVM text. A reader here, checked on scikit-learn's own
 * dump_svmlight_file output, reads the job's output back as the vectors; and the output's bytes
 * are the ones scikit-learn's load_svmlight_file read as the vectors, exactly
 * (test/fixtures/ml/make_sklearn_fixtures.py, section libsvm).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { runLocal } from '../sdk/index.js';
import { FIXTURES, outputLines, tempDir } from './helpers.js';
import { job, sklearnFixture, type VectorRecord } from './ml-fixtures.js';

interface LibsvmFixture {
  classes: string[];
  vectors: VectorRecord[];
  'jobs/libsvm.ts output (classes=ham,spam, ids=true), which load_svmlight_file read as the vectors': {
    sha256: string;
    lines: number;
  };
}

interface Line {
  label: number;
  indices: number[];
  values: number[];
  comment: string | undefined;
}

/** LIBSVM / svmlight text: `<label> <index>:<value>…` (indices from 1), `# comment` to the end of the line. */
function readLibsvm(text: string): Line[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const hash = l.indexOf('#');
      const [label, ...pairs] = (hash < 0 ? l : l.slice(0, hash)).trim().split(/\s+/);
      const entries = pairs.map((p) => {
        const m = /^(\d+):(\S+)$/.exec(p);
        if (!m) throw new Error(`not index:value: ${p}`);
        return [Number(m[1]) - 1, Number(m[2])] as const;
      });
      return {
        label: Number(label),
        indices: entries.map(([i]) => i),
        values: entries.map(([, v]) => v),
        comment: hash < 0 ? undefined : l.slice(hash + 1).trim(),
      };
    });
}

let dir: string;
let fixture: LibsvmFixture;
let input: string;
beforeAll(() => {
  dir = tempDir();
  fixture = sklearnFixture<LibsvmFixture>('libsvm');
  input = path.join(dir, 'vectors.jsonl');
  fs.writeFileSync(input, fixture.vectors.map((v) => `${JSON.stringify(v)}\n`).join(''));
});

describe('libsvm', () => {
  it('the reader reads scikit-learn’s dump_svmlight_file of the vectors as the vectors (it writes %.16g: to 1e-15)', () => {
    const lines = readLibsvm(fs.readFileSync(path.join(FIXTURES, 'ml', 'libsvm-sklearn.txt'), 'utf8'));
    expect(lines).toHaveLength(fixture.vectors.length);
    lines.forEach((l, i) => {
      const v = fixture.vectors[i]!.value;
      expect(l.label).toBe(fixture.classes.indexOf(v.label as string));
      expect(l.indices).toEqual(v.indices);
      l.values.forEach((x, j) => {
        expect(Math.abs(x - v.values[j]!)).toBeLessThanOrEqual(1e-15 * Math.abs(v.values[j]!));
      });
    });
  });

  it('writes the vectors, labels as positions in classes, ids as comments: the bytes load_svmlight_file read exactly, whatever the splits', async () => {
    await runLocal(job('libsvm'), {
      input,
      output: path.join(dir, 'out'),
      params: { classes: 'ham,spam', ids: 'true' },
      workers: 2,
      splitSize: 8 << 10,
    });
    const lines = outputLines(path.join(dir, 'out'));
    const expected =
      fixture['jobs/libsvm.ts output (classes=ham,spam, ids=true), which load_svmlight_file read as the vectors'];
    expect(lines).toHaveLength(expected.lines);
    const text = lines.map((l) => `${l}\n`).join('');
    expect(createHash('sha256').update(text).digest('hex')).toBe(expected.sha256);
    readLibsvm(text).forEach((l, i) => {
      const { key, value } = fixture.vectors[i]!;
      expect(l).toEqual({
        label: fixture.classes.indexOf(value.label as string),
        indices: value.indices,
        values: value.values,
        comment: JSON.stringify(key),
      });
    });
  }, 60_000);

  it('writes numeric labels as numbers, leaves zeros out, and names what is wrong: a text label without classes, a missing label, a bad index', async () => {
    const file = (name: string, records: object[]) => {
      const f = path.join(dir, `${name}.jsonl`);
      fs.writeFileSync(f, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
      return f;
    };
    const vec = (label: unknown, indices: number[], values: number[]) => ({
      key: 'a',
      value: { ...(label === undefined ? {} : { label }), size: 5, indices, values },
    });
    const run = (name: string, records: object[], params: Record<string, string> = {}) =>
      runLocal(job('libsvm'), {
        input: file(name, records),
        output: path.join(dir, `${name}-out`),
        params,
        workers: 1,
      });
    await run('numeric', [vec(-1, [0, 3], [0.5, 0]), vec('2.5', [4], [1e-300]), vec(undefined, [], [])], {
      missingLabel: '0',
    });
    expect(outputLines(path.join(dir, 'numeric-out'))).toEqual(['-1 1:0.5', '2.5 5:1e-300', '0']);
    await expect(run('text', [vec('ham', [0], [1])])).rejects.toThrow(/has the label "ham".*--param classes=/);
    await expect(run('unlabelled', [vec(undefined, [0], [1])])).rejects.toThrow(/no label.*missingLabel/);
    await expect(run('unlisted', [vec('eggs', [0], [1])], { classes: 'ham,spam' })).rejects.toThrow(
      /"eggs", which --param classes does not list/,
    );
    await expect(run('unsorted', [vec(1, [3, 1], [1, 1])])).rejects.toThrow(/index 1 after 3/);
    await expect(run('beyond', [vec(1, [5], [1])])).rejects.toThrow(/index 5 after -1 \(size 5\)/);
  }, 60_000);
});
