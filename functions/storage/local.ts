import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ObjectNotFoundError } from '../errors.js';
import { DIRECTORY, statNames } from './stat-names.js';
import type {
  ByteRange,
  IoStats,
  ObjectInfo,
  ObjectWriter,
  Storage,
  VersionedObject,
  WriteCondition,
} from './types.js';
import { parseUri } from './uri.js';

function localPath(uri: string): string {
  const loc = parseUri(uri);
  if (loc.kind !== 'file') throw new Error(`LocalStorage cannot reach ${uri}`);
  return loc.path;
}

const isMissing = (e: unknown) => (e as NodeJS.ErrnoException).code === 'ENOENT';

/** A file descriptor to read the object at `uri`; ObjectNotFoundError when there is none. */
function openObject(uri: string): number {
  try {
    return fs.openSync(localPath(uri), 'r');
  } catch (e) {
    if (isMissing(e)) throw new ObjectNotFoundError(uri);
    throw e;
  }
}
const versionOf = (b: Buffer) => createHash('sha1').update(b).digest('hex');
/** A conditional write's lock older than this was left by a process that died holding it. */
const STALE_LOCK_MS = 10_000;

/** The local file system. Writes go to a unique temporary name and are renamed into place. */
export class LocalStorage implements Storage {
  readonly stats: IoStats = { requests: 0, bytesRead: 0, bytesWritten: 0 };

  async stat(uri: string): Promise<ObjectInfo | undefined> {
    this.stats.requests++;
    try {
      const st = await fsp.stat(localPath(uri));
      return st.isFile() ? { uri, size: st.size } : undefined;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async *read(uri: string, range: ByteRange = { start: 0 }): AsyncIterable<Uint8Array> {
    this.stats.requests++;
    // Synchronous calls: a read from the page cache takes microseconds, and each asynchronous
    // call a round trip through libuv's thread pool (~0.1 ms), which dominated splits of many
    // small objects (short documents). Tasks run in worker threads, so only the task waits.
    const fd = openObject(uri);
    try {
      // A range's end needs no stat: a read past the file's end returns what there is, as S3 does.
      const end = range.end ?? fs.fstatSync(fd).size;
      let pos = range.start;
      while (pos < end) {
        const buf = Buffer.allocUnsafe(Math.min(4 << 20, end - pos));
        const bytesRead = fs.readSync(fd, buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        pos += bytesRead;
        this.stats.bytesRead += bytesRead;
        yield buf.subarray(0, bytesRead);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  readNow(uri: string, range: Required<ByteRange>, into?: Buffer): Buffer {
    this.stats.requests++;
    const fd = openObject(uri);
    try {
      const want = Math.max(0, range.end - range.start);
      const buf = into && into.length >= want ? into.subarray(0, want) : Buffer.allocUnsafe(want);
      let n = 0;
      for (let got = -1; n < buf.length && got !== 0; n += got)
        got = fs.readSync(fd, buf, n, buf.length - n, range.start + n);
      this.stats.bytesRead += n;
      return buf.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  }

  async readAll(uri: string): Promise<Buffer> {
    this.stats.requests++;
    try {
      const buf = await fsp.readFile(localPath(uri));
      this.stats.bytesRead += buf.length;
      return buf;
    } catch (e) {
      if (isMissing(e)) throw new ObjectNotFoundError(uri);
      throw e;
    }
  }

  async write(uri: string, body: string | Uint8Array): Promise<void> {
    const w = this.createWriter(uri);
    await w.write(typeof body === 'string' ? Buffer.from(body) : body);
    await w.end();
  }

  createWriter(uri: string): ObjectWriter {
    const final = localPath(uri);
    const temp = tempName(final);
    const stats = this.stats;
    let fd: number | undefined;
    let bytes = 0;
    const open = () => {
      if (fd === undefined) {
        fs.mkdirSync(path.dirname(final), { recursive: true });
        fd = fs.openSync(temp, 'w');
      }
      return fd;
    };
    return {
      async write(chunk) {
        const f = open();
        let off = 0;
        while (off < chunk.length) off += fs.writeSync(f, chunk, off, chunk.length - off);
        bytes += chunk.length;
        stats.bytesWritten += chunk.length;
      },
      async end() {
        stats.requests++;
        fs.closeSync(open());
        fd = undefined;
        await fsp.rename(temp, final);
        return bytes;
      },
      async abort() {
        if (fd !== undefined) fs.closeSync(fd);
        fd = undefined;
        await fsp.rm(temp, { force: true });
      },
    };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    yield* this.listNow(prefix);
  }

  listNow(prefix: string): ObjectInfo[] {
    this.stats.requests++;
    const root = localPath(prefix);
    const st = fs.statSync(root, { throwIfNoEntry: false });
    if (st === undefined) return [];
    if (st.isFile()) return [{ uri: pathToFileURL(root).href, size: st.size }];
    const found: ObjectInfo[] = [];
    walk(root, found);
    return found;
  }

  async delete(uri: string): Promise<void> {
    this.stats.requests++;
    await fsp.rm(localPath(uri), { force: true });
  }

  async deletePrefix(prefix: string): Promise<number> {
    const n = this.listNow(prefix).length;
    this.stats.requests++;
    // Synchronously, as the listing is: fs.promises.rm's first recursive call in a thread took
    // 12-13 ms for a run's scratch (21 files), rmSync 4.5-5 ms; Commit waits for it.
    fs.rmSync(localPath(prefix), { recursive: true, force: true });
    return n;
  }

  async readVersioned(uri: string): Promise<VersionedObject | undefined> {
    try {
      const body = await this.readAll(uri);
      return { body, version: versionOf(body) };
    } catch (e) {
      if (e instanceof ObjectNotFoundError) return undefined;
      throw e;
    }
  }

  /**
   * `ifAbsent`: the bytes go to a temporary file that is hard-linked to the name, which fails if
   * the name exists (an exclusive create that never shows a half-written file). `ifVersion`:
   * compare and replace under a lock directory (mkdir is atomic); a racing conditional write
   * finds the lock taken and answers false, as S3 answers 409.
   */
  async writeIf(uri: string, body: string | Uint8Array, condition: WriteCondition): Promise<boolean> {
    const final = localPath(uri);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if ('ifAbsent' in condition) {
      this.stats.requests++;
      await fsp.mkdir(path.dirname(final), { recursive: true });
      const temp = tempName(final);
      await fsp.writeFile(temp, bytes);
      try {
        await fsp.link(temp, final).catch(async (e: NodeJS.ErrnoException) => {
          // A file system without hard links: an exclusive create (briefly visible half-written).
          if (e.code === 'EPERM' || e.code === 'ENOTSUP') await fsp.writeFile(final, bytes, { flag: 'wx' });
          else throw e;
        });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      } finally {
        await fsp.rm(temp, { force: true });
      }
      this.stats.bytesWritten += bytes.length;
      return true;
    }
    return this.locked(final, async () => {
      const current = await this.readVersioned(uri);
      if (current?.version !== condition.ifVersion) return false;
      await this.write(uri, bytes);
      return true;
    });
  }

  async deleteIf(uri: string, version: string): Promise<boolean> {
    const final = localPath(uri);
    return this.locked(final, async () => {
      const current = await this.readVersioned(uri);
      if (current?.version !== version) return false;
      await this.delete(uri);
      return true;
    });
  }

  /** Runs `fn` holding the lock of `file`; false when another holds it. */
  private async locked(file: string, fn: () => Promise<boolean>): Promise<boolean> {
    const lock = path.join(path.dirname(file), `.${path.basename(file)}.lock`);
    const take = async (): Promise<boolean> => {
      try {
        await fsp.mkdir(lock);
        return true;
      } catch (e) {
        // EEXIST: another holds it; ENOENT: no such directory, so no object to compare with.
        if (!['EEXIST', 'ENOENT'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
        return false;
      }
    };
    if (!(await take())) {
      const age = await fsp.stat(lock).then(
        (st) => Date.now() - st.mtimeMs,
        () => 0,
      );
      if (age < STALE_LOCK_MS) return false;
      await fsp.rm(lock, { recursive: true, force: true });
      if (!(await take())) return false;
    }
    try {
      return await fn();
    } finally {
      await fsp.rm(lock, { recursive: true, force: true });
    }
  }
}

/** A hidden (dot) name beside `final`, unique to this write, so listings never mistake it for data. */
function tempName(final: string): string {
  return path.join(path.dirname(final), `.${path.basename(final)}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * The files under `dir` into `found`, in name order. Synchronous calls, as in LocalStorage.read,
 * into one array: no async generator step per file and level.
 */
function walk(dir: string, found: ObjectInfo[]): void {
  // Names alone: what each is, statNames asks anyway (a Dirent each took 110 ms more for 258,714 names).
  const names = fs.readdirSync(dir).sort();
  // A name that URLs keep as it is joins the folder's URL; pathToFileURL for each of 16,000 short
  // documents took a fifth of their listing. Likewise paths: `dir` is absolute and normalized.
  const base = `${pathToFileURL(dir).href.replace(/\/$/, '')}/`;
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  // Symbolic links are followed, as a user pointing at a directory of linked data expects. A
  // dangling one is skipped; one that cannot be followed (a loop, no permission) fails the
  // listing with its error rather than leaving input out unsaid.
  const kinds = statNames(prefix, names);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const what = kinds[i]!;
    if (what >= 0)
      found.push({ uri: URL_SAFE_NAME.test(name) ? base + name : pathToFileURL(prefix + name).href, size: what });
    else if (what === DIRECTORY) walk(prefix + name, found);
  }
}

/** File names that pathToFileURL leaves unencoded (and that are not `.` or `..`). */
const URL_SAFE_NAME = /^(?!\.\.?$)[A-Za-z0-9._-]+$/;
