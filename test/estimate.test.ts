import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { estimateCost, PRICES } from '../sdk/index.js';
import { ROOT } from './helpers.js';

describe('estimateCost', () => {
  it('counts what each phase does: 2 map tasks, 1 reducer, one-part uploads', () => {
    const e = estimateCost({
      inputBytes: 2 << 20,
      splitSize: 1 << 20,
      reducers: 1,
      shuffleRatio: 0.5,
      outputRatio: 0.1,
    });
    expect(e.mapTasks).toBe(2);
    // plan 1 list + 3; maps 2 × (data + index); shuffle 1 manifest + 2; reduce part + result; commit 2 + 1 list.
    expect(e.s3.writes).toBe(1 + 3 + 2 * 2 + (1 + 2) + 2 + (2 + 1));
    // maps 2 × 2 ranged GETs; shuffle 2 indexes; reduce manifest + attempts + 2 ranges; commit spec + 2 + 1.
    expect(e.s3.reads).toBe(4 + 2 + 4 + 4);
    expect(e.stateTransitions).toBe(10 + 4 + 2);
    expect(e.lambda.invocations).toBe(2 + 1 + 4);
    expect(e.dollars).toBeCloseTo(
      e.lines.reduce((s, l) => s + l.dollars, 0),
      12,
    );
    expect(e.lines[0]!.dollars).toBeCloseTo(e.s3.writes * PRICES.s3Write, 12);
  });

  it('grows the range reads as map tasks × reducers, and refuses impossible settings', () => {
    const small = estimateCost({ inputBytes: 100e9, splitSize: 64 * 2 ** 20, reducers: 64 });
    expect(small.mapTasks).toBe(1491);
    expect(small.s3.reads).toBeGreaterThan(1491 * 64);
    expect(() => estimateCost({ inputBytes: 0, memoryMiB: 20_000 })).toThrow(
      /inputBytes must be > 0.*memory must be 128-10240/,
    );
  });

  it('streaming estimate prints the table, or JSON', () => {
    const cli = path.join(ROOT, 'dist', 'sdk', 'cli.js');
    const args = ['estimate', '--input-size', '100GB', '--split-size', '64MiB', '--reducers', '64', '--memory', '1769'];
    const table = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    expect(table.status).toBe(0);
    for (const item of ['S3 PUT/LIST requests', 'S3 GET requests', 'Lambda compute', 'Step Functions', 'total'])
      expect(table.stdout).toContain(item);
    expect(table.stdout).toMatch(/1,491 map tasks of 64 MiB, 64 reducers/);
    const json = spawnSync(process.execPath, [cli, ...args, '--json'], { encoding: 'utf8' });
    expect(JSON.parse(json.stdout)).toMatchObject({ mapTasks: 1491, reducers: 64 });
  });
});
