/**
 * A pool with a worker per core compiles hot code on its workers' own threads, and leaves the
 * process's other threads as they were (sdk/local/inline-compiles.ts). V8 says which it does:
 * %IsConcurrentRecompilationSupported() is whether an isolate has background compile threads.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from '@jest/globals';
import { runLocal } from '../sdk/index.js';
import { compilesInline, startCompilingInline } from '../sdk/local/inline-compiles.js';
import { FIXTURES, outputLines, tempDir } from './helpers.js';

setFlagsFromString('--allow-natives-syntax');

const ASK = `require('node:worker_threads').parentPort.postMessage(new Function('return %IsConcurrentRecompilationSupported()')())`;
const make = () => new Worker(ASK, { eval: true });

/** Whether `worker`'s V8 compiles on background threads. */
function background(worker: Worker): Promise<boolean> {
  return new Promise((resolve, reject) => {
    worker.once('message', (m: boolean) => {
      resolve(m);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

describe('startCompilingInline', () => {
  it('starts workers that compile on their own thread, and the workers started after as before', async () => {
    expect(await background(make())).toBe(true);
    // Two at once: the flag stays until both are online.
    const [a, b] = [startCompilingInline(make), startCompilingInline(make)];
    expect(await Promise.all([background(a), background(b)])).toEqual([false, false]);
    expect(await background(make())).toBe(true);
  });

  it('puts the flag back after a worker stopped before it is online, and after one that cannot be made', async () => {
    const stopped = startCompilingInline(make);
    await stopped.terminate();
    expect(await background(make())).toBe(true);
    expect(() =>
      startCompilingInline((): Worker => {
        throw new Error('no worker');
      }),
    ).toThrow('no worker');
    expect(await background(make())).toBe(true);
  });
});

describe('a local run', () => {
  const input = tempDir();
  fs.writeFileSync(path.join(input, 'one.txt'), 'a line\n');

  it.each([
    ['a worker per core', os.availableParallelism()],
    ['fewer workers than cores', Math.max(1, os.availableParallelism() - 1)],
  ])('with %s compiles in the workers as compilesInline says', async (_, workers) => {
    const output = path.join(tempDir(), 'out');
    await runLocal(path.join(FIXTURES, 'compiles-inline.ts'), { input, output, workers });
    expect(outputLines(output)).toEqual([`background\t${!compilesInline(workers)}`]);
  });

  it('compiles inline exactly when every core has a worker', () => {
    expect(compilesInline(os.availableParallelism())).toBe(true);
    expect(compilesInline(os.availableParallelism() + 1)).toBe(true);
    expect(compilesInline(os.availableParallelism() - 1)).toBe(false);
  });
});
