/** Shared by the ML tests: scikit-learn's fixtures, vector outputs, closeness. */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from '@jest/globals';
import { FIXTURES, outputLines, ROOT } from './helpers.js';

export const job = (name: string) => path.join(ROOT, 'jobs', `${name}.ts`);
export const VEGA = path.join(ROOT, 'node_modules', 'vega-datasets', 'data');

/** A fixture made by test/fixtures/ml/make_sklearn_fixtures.py. */
export function sklearnFixture<T>(section: string): T & { sklearn: string } {
  const f = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'ml', `${section}.json`), 'utf8')) as T & {
    sklearn: string;
  };
  expect(f.sklearn).toMatch(/^\d+\.\d+/);
  return f;
}

/** |actual − expected| <= rel · max(|expected|, floor). */
export function expectClose(actual: number, expected: number, rel = 1e-9, floor = 1e-300, what = ''): void {
  if (!(Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), floor)))
    throw new Error(
      `${what ? `${what}: ` : ''}expected ${expected}, got ${actual} (relative error ${Math.abs(actual - expected) / Math.abs(expected)})`,
    );
}

export interface VectorRecord {
  key: unknown;
  value: { label?: string | number; size: number; indices: number[]; values: number[] };
}

/** The vector records of an output, by id (each id once). */
export function vectorsById(dir: string): Map<string, VectorRecord['value']> {
  const m = new Map<string, VectorRecord['value']>();
  for (const line of outputLines(dir)) {
    const { key, value } = JSON.parse(line) as VectorRecord;
    const k = String(key);
    expect(m.has(k)).toBe(false);
    m.set(k, value);
  }
  return m;
}

/** The output's lines, sorted: equal outputs whatever the number or order of their parts. */
export const sortedLines = (dir: string) => outputLines(dir).sort();

/** Code point order of strings (Python's and UTF-8's), compared on the code points themselves. */
export function byCodePoint(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}
