/**
 * An in-memory Storage for scale measurements (bench/scale.ts and its test): objects in a Map,
 * generated listings and objects (millions that exist only when read), and writes that may be
 * counted without being kept. Counts requests as S3 would bill them.
 */

import { createHash } from 'node:crypto';
import { ObjectNotFoundError } from '../functions/errors.js';
import type {
  ByteRange,
  IoStats,
  ObjectInfo,
  ObjectWriter,
  Storage,
  VersionedObject,
  WriteCondition,
} from '../functions/storage/types.js';

const versionOf = (b: Buffer) => createHash('sha1').update(b).digest('hex');

export class MemoryStorage implements Storage {
  readonly stats: IoStats = { requests: 0, bytesRead: 0, bytesWritten: 0 };
  readonly objects = new Map<string, Buffer>();

  /**
   * @param listings prefix → generator of the objects listed under it (names and sizes only)
   * @param generate makes the body of an object that was never written (undefined: absent)
   * @param keep whether a write is kept (others are counted, then dropped)
   */
  constructor(
    private readonly listings: Record<string, () => Iterable<ObjectInfo>> = {},
    private readonly generate: (uri: string) => Buffer | undefined = () => undefined,
    private readonly keep: (uri: string) => boolean = () => true,
  ) {}
  /** Bytes of each write, kept or not. */
  readonly written = new Map<string, number>();

  async stat(uri: string): Promise<ObjectInfo | undefined> {
    this.stats.requests++;
    const b = this.objects.get(uri);
    return b ? { uri, size: b.length } : undefined;
  }

  async *read(uri: string, range: ByteRange = { start: 0 }): AsyncIterable<Uint8Array> {
    const b = await this.readAll(uri);
    yield b.subarray(range.start, range.end ?? b.length);
  }

  async readAll(uri: string): Promise<Buffer> {
    this.stats.requests++;
    const b = this.objects.get(uri) ?? this.generate(uri);
    if (!b) throw new ObjectNotFoundError(uri);
    this.stats.bytesRead += b.length;
    return b;
  }

  async write(uri: string, body: string | Uint8Array): Promise<void> {
    this.stats.requests++;
    const b = Buffer.from(body);
    this.stats.bytesWritten += b.length;
    this.written.set(uri, b.length);
    if (this.keep(uri)) this.objects.set(uri, b);
  }

  createWriter(uri: string): ObjectWriter {
    const parts: Buffer[] = [];
    return {
      write: async (chunk) => {
        parts.push(Buffer.from(chunk));
      },
      end: async () => {
        const b = Buffer.concat(parts);
        await this.write(uri, b);
        return b.length;
      },
      abort: async () => {},
    };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const generated = this.listings[prefix];
    if (generated) {
      // As S3 pages its listings: one request per thousand keys.
      let n = 0;
      for (const o of generated()) {
        if (n++ % 1000 === 0) this.stats.requests++;
        yield o;
      }
      return;
    }
    this.stats.requests++;
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const k of keys) yield { uri: k, size: this.objects.get(k)!.length };
  }

  async delete(uri: string): Promise<void> {
    this.stats.requests++;
    this.objects.delete(uri);
  }

  async deletePrefix(prefix: string): Promise<number> {
    let n = 0;
    for (const k of [...this.objects.keys()]) if (k.startsWith(prefix) && this.objects.delete(k)) n++;
    this.stats.requests += Math.ceil(n / 1000);
    return n;
  }

  async readVersioned(uri: string): Promise<VersionedObject | undefined> {
    this.stats.requests++;
    const b = this.objects.get(uri);
    return b ? { body: b, version: versionOf(b) } : undefined;
  }

  async writeIf(uri: string, body: string | Uint8Array, condition: WriteCondition): Promise<boolean> {
    const b = this.objects.get(uri);
    const holds = 'ifAbsent' in condition ? !b : b !== undefined && versionOf(b) === condition.ifVersion;
    if (!holds) {
      this.stats.requests++;
      return false;
    }
    await this.write(uri, body);
    return true;
  }

  async deleteIf(uri: string, version: string): Promise<boolean> {
    this.stats.requests++;
    const b = this.objects.get(uri);
    if (!b || versionOf(b) !== version) return false;
    this.objects.delete(uri);
    return true;
  }
}
