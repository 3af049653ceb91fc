import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ObjectNotFoundError } from '../functions/errors.js';
import { listInputs } from '../functions/phases/plan.js';
import { StorageRouter } from '../functions/storage/index.js';
import { LocalStorage } from '../functions/storage/local.js';
import { S3Storage, s3ClientFromEnvironment } from '../functions/storage/s3.js';
import { DIRECTORY, helpStat, lendStatThreads, MISSING, statNames } from '../functions/storage/stat-names.js';
import type { Storage } from '../functions/storage/types.js';
import { isGzipUri, normalizeUri, parseUri } from '../functions/storage/uri.js';
import { tempDir } from './helpers.js';
import { type S3Server, startS3Server } from './s3-server.js';

let server: S3Server;
beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket('conformance');
});
afterAll(() => server.stop());

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
}

async function list(s: Storage, prefix: string): Promise<[string, number][]> {
  const out: [string, number][] = [];
  for await (const o of s.list(prefix)) out.push([o.uri.slice(prefix.length), o.size]);
  return out;
}

/** One suite, run against every storage: local and S3 cannot drift apart. */
const cases: [string, () => { storage: Storage; root: string }][] = [
  ['local file system', () => ({ storage: new LocalStorage(), root: normalizeUri(`${tempDir()}/`) })],
  [
    'S3 (s3rver)',
    () => ({
      storage: new S3Storage(s3ClientFromEnvironment()),
      root: `s3://conformance/${Math.random().toString(36).slice(2)}/`,
    }),
  ],
];

describe.each(cases)('storage conformance: %s', (_name, make) => {
  let storage: Storage;
  let root: string;
  beforeAll(() => {
    ({ storage, root } = make());
  });

  it('writes, stats and reads whole objects and byte ranges', async () => {
    const body = Buffer.from('0123456789abcdef');
    await storage.write(`${root}a/obj.txt`, body);
    expect(await storage.stat(`${root}a/obj.txt`)).toEqual({ uri: `${root}a/obj.txt`, size: 16 });
    expect(await storage.stat(`${root}a/missing`)).toBeUndefined();
    expect(await storage.readAll(`${root}a/obj.txt`)).toEqual(body);
    expect((await collect(storage.read(`${root}a/obj.txt`, { start: 3, end: 7 }))).toString()).toBe('3456');
    expect((await collect(storage.read(`${root}a/obj.txt`, { start: 10 }))).toString()).toBe('abcdef');
    expect((await collect(storage.read(`${root}a/obj.txt`, { start: 12, end: 100 }))).toString()).toBe('cdef');
    expect((await collect(storage.read(`${root}a/obj.txt`, { start: 16, end: 20 }))).length).toBe(0);
    await expect(storage.readAll(`${root}a/missing`)).rejects.toThrow(ObjectNotFoundError);
  });

  it('streams a multi-part write that appears only when it ends, and aborts without a trace', async () => {
    const w = storage.createWriter(`${root}big/part`);
    const hash = createHash('sha256');
    let total = 0;
    for (let i = 0; i < 20; i++) {
      const chunk = Buffer.alloc(1 << 20, i);
      hash.update(chunk);
      total += chunk.length;
      await w.write(chunk);
    }
    expect(await storage.stat(`${root}big/part`)).toBeUndefined();
    expect(await w.end()).toBe(total);
    const back = await collect(storage.read(`${root}big/part`));
    expect(createHash('sha256').update(back).digest('hex')).toBe(hash.digest('hex'));

    const a = storage.createWriter(`${root}big/aborted`);
    await a.write(Buffer.from('half'));
    await a.abort();
    expect(await storage.stat(`${root}big/aborted`)).toBeUndefined();
  });

  it('lists a prefix recursively in key order, not its siblings, and deletes by prefix', async () => {
    for (const k of ['d/2.txt', 'd/1.txt', 'd/sub/3.txt', 'dx/no.txt']) await storage.write(root + k, k);
    expect(await list(storage, `${root}d/`)).toEqual([
      ['1.txt', 7],
      ['2.txt', 7],
      ['sub/3.txt', 11],
    ]);
    expect((await list(storage, `${root}d`)).length).toBe(3);
    await storage.delete(`${root}d/1.txt`);
    await storage.delete(`${root}d/never-was`);
    expect(await storage.deletePrefix(`${root}d/`)).toBe(2);
    expect(await list(storage, `${root}d/`)).toEqual([]);
    expect(await list(storage, `${root}dx/`)).toEqual([['no.txt', 9]]);
  });

  it('conditional writes: of racing creates exactly one applies; a write or delete on a stale version fails', async () => {
    const uri = `${root}claim/_CLAIM`;
    const created = await Promise.all(
      Array.from({ length: 8 }, (_, i) => storage.writeIf(uri, `run ${i}`, { ifAbsent: true })),
    );
    expect(created.filter(Boolean)).toHaveLength(1);
    const first = (await storage.readVersioned(uri))!;
    expect(first.body.toString()).toBe(`run ${created.indexOf(true)}`);
    const takeovers = await Promise.all(
      ['a', 'b', 'c'].map((who) => storage.writeIf(uri, `taken by ${who}`, { ifVersion: first.version })),
    );
    expect(takeovers.filter(Boolean)).toHaveLength(1);
    expect(await storage.deleteIf(uri, first.version)).toBe(false);
    const now = (await storage.readVersioned(uri))!;
    expect(now.body.toString()).toMatch(/^taken by /);
    expect(await storage.writeIf(`${root}claim/missing`, 'x', { ifVersion: first.version })).toBe(false);
    expect(await storage.deleteIf(uri, now.version)).toBe(true);
    expect(await storage.readVersioned(uri)).toBeUndefined();
  });

  it('counts its requests and bytes', () => {
    expect(storage.stats.requests).toBeGreaterThan(10);
    expect(storage.stats.bytesWritten).toBeGreaterThan(20 << 20);
    expect(storage.stats.bytesRead).toBeGreaterThan(20 << 20);
  });
});

it('keeps paths out of S3 and s3:// out of the file system', () => {
  expect(() => new LocalStorage().createWriter('s3://b/k')).toThrow(/cannot reach/);
  expect(() => new S3Storage(s3ClientFromEnvironment()).createWriter(path.resolve('x'))).toThrow(/cannot reach/);
});

describe('file URLs', () => {
  it('give the path fileURLToPath gives, whatever their characters (the plain ones without decoding)', () => {
    const segment = fc.stringMatching(/^[a-z.~%20 é_-]{0,6}$/);
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (segments) => {
        const url = `file:///${segments.join('/')}`;
        let expected: string;
        try {
          expected = fileURLToPath(url);
        } catch {
          return; // not a file URL Node accepts (a bad escape)
        }
        expect(parseUri(url)).toEqual({ kind: 'file', path: expected });
      }),
      { numRuns: 2000 },
    );
  });
});

it('tells gzip objects by a .gz name in any case, and by nothing else', () => {
  for (const uri of ['s3://b/logs/a.gz', 'file:///d/x.txt.GZ', 'file:///d/y.Gz', '.gz'])
    expect([uri, isGzipUri(uri)]).toEqual([uri, true]);
  for (const uri of ['s3://b/a.gz.txt', 'file:///d/gz', 'file:///d/agz', 'file:///d/x.tgz', 'gz', ''])
    expect([uri, isGzipUri(uri)]).toEqual([uri, false]);
});

describe('local listing', () => {
  it('lists local files under the URIs pathToFileURL gives them, whatever their names', async () => {
    const dir = tempDir();
    const names = ['plain-1.txt', 'a~b', 'x y', 'a%b', 'a#b', 'é.txt', 'a?b', 'a[b]', "a'b", 'a+b', '...x', '_.-'];
    for (const n of names) fs.writeFileSync(path.join(dir, n), n);
    const listed: string[] = [];
    for await (const o of new LocalStorage().list(`${pathToFileURL(dir).href}/`)) listed.push(o.uri);
    expect(listed.sort()).toEqual(names.map((n) => pathToFileURL(path.join(dir, n)).href).sort());
  });

  it('follows symbolic links in a local listing: a dangling one is skipped, a loop fails the listing', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'real.txt'), 'x');
    fs.symlinkSync(path.join(dir, 'real.txt'), path.join(dir, 'linked.txt'));
    fs.symlinkSync(path.join(dir, 'gone.txt'), path.join(dir, 'dangling.txt'));
    const names = async () => {
      const out: string[] = [];
      for await (const o of new LocalStorage().list(`${pathToFileURL(dir).href}/`)) out.push(path.basename(o.uri));
      return out;
    };
    expect(await names()).toEqual(['linked.txt', 'real.txt']);
    fs.symlinkSync(path.join(dir, 'loop-b'), path.join(dir, 'loop-a'));
    fs.symlinkSync(path.join(dir, 'loop-a'), path.join(dir, 'loop-b'));
    await expect(names()).rejects.toThrow(/ELOOP/);
  });

  it('asks about a large folder on two threads as on one: sizes, folders, links, and stat’s own errors', () => {
    const dir = tempDir();
    // Sizes that differ from name to name: an answer written at the wrong name shows.
    const names = Array.from({ length: 3000 }, (_, i) => `f${String(i).padStart(5, '0')}`);
    for (const [i, n] of names.entries()) fs.writeFileSync(path.join(dir, n), Buffer.alloc((i * 7919) % 1000));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.symlinkSync(path.join(dir, 'f00001'), path.join(dir, 'linked'));
    fs.symlinkSync(path.join(dir, 'sub'), path.join(dir, 'linked-sub'));
    fs.symlinkSync(path.join(dir, 'gone'), path.join(dir, 'dangling'));
    const all = fs.readdirSync(dir).sort();
    const expected = all.map((n) =>
      n === 'dangling' ? MISSING : n.includes('sub') ? DIRECTORY : fs.statSync(path.join(dir, n)).size,
    );
    const prefix = `${dir}/`;
    expect([...statNames(prefix, all, Number.POSITIVE_INFINITY)]).toEqual(expected);
    expect([...statNames(prefix, all, 1, true)]).toEqual(expected); // the helper alone
    expect([...statNames(prefix, all, 1)]).toEqual(expected); // both threads
    fs.symlinkSync(path.join(dir, 'loop-b'), path.join(dir, 'loop-a'));
    fs.symlinkSync(path.join(dir, 'loop-a'), path.join(dir, 'loop-b'));
    const looped = fs.readdirSync(dir).sort();
    expect(() => statNames(prefix, looped, 1, true)).toThrow(/ELOOP/);
    expect(() => statNames(prefix, looped, 1)).toThrow(/ELOOP/);
    // A lent thread (the local engine's idle worker): here it takes its job at once and asks
    // about every name before the asking thread starts; then one that never comes.
    try {
      let lent = 0;
      lendStatThreads((job) => {
        lent++;
        helpStat(job);
        return true;
      });
      expect([...statNames(prefix, all, Number.POSITIVE_INFINITY, false, 1)]).toEqual(expected);
      expect(() => statNames(prefix, looped, Number.POSITIVE_INFINITY, false, 1)).toThrow(/ELOOP/);
      expect(lent).toBe(2);
      lendStatThreads(() => true);
      expect([...statNames(prefix, all, Number.POSITIVE_INFINITY, false, 1)]).toEqual(expected);
    } finally {
      lendStatThreads(undefined);
    }
  });

  it('leaves hidden files out of a job’s input: a name starting with _ or . at any depth, as Hadoop does', async () => {
    const dir = tempDir();
    const files = ['a.txt', 'x_y.txt', '_SUCCESS', '.hidden', '_tmp/b.txt', 'sub/.c', 'sub/d.e.txt', 'sub/_f/g.txt'];
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), f);
    }
    const found = await listInputs(new StorageRouter(), [dir]);
    expect(found.map((o) => path.relative(dir, fileURLToPath(o.uri)))).toEqual(['a.txt', 'sub/d.e.txt', 'x_y.txt']);
  });
});
