import { LocalStorage } from './local.js';
import type { ByteRange, IoStats, ObjectInfo, ObjectWriter, Storage, WriteCondition } from './types.js';
import { isS3Uri } from './uri.js';

export type {
  ByteRange,
  IoStats,
  ObjectInfo,
  ObjectWriter,
  Storage,
  VersionedObject,
  WriteCondition,
} from './types.js';

/** Makes the S3 storage on first use: jobs that never touch S3 never load the AWS SDK (memory, start-up). */
async function defaultS3(): Promise<Storage> {
  const { S3Storage } = await import('./s3.js');
  return new S3Storage();
}

/** Picks the storage for each URI scheme; one instance per scheme, so I/O stats add up. */
export class StorageRouter {
  private readonly local = new LocalStorage();
  private s3: LazyStorage | undefined;

  /** @param makeS3 makes the storage for `s3://` URIs (tests wrap it, e.g. to enforce IAM). */
  constructor(private readonly makeS3: () => Storage | Promise<Storage> = defaultS3) {}

  for(uri: string): Storage {
    if (!isS3Uri(uri)) return this.local;
    this.s3 ??= new LazyStorage(this.makeS3);
    return this.s3;
  }

  /** Reads a small JSON object whole (indexes, manifests, markers). */
  async readJson<T>(uri: string): Promise<T> {
    return JSON.parse((await this.for(uri).readAll(uri)).toString('utf8')) as T;
  }

  stats(): IoStats {
    const s = this.s3?.stats;
    const l = this.local.stats;
    return {
      requests: l.requests + (s?.requests ?? 0),
      bytesRead: l.bytesRead + (s?.bytesRead ?? 0),
      bytesWritten: l.bytesWritten + (s?.bytesWritten ?? 0),
    };
  }
}

/** A storage made on first use. */
class LazyStorage implements Storage {
  private made: Promise<Storage> | undefined;
  private inner: Storage | undefined;

  constructor(private readonly make: () => Storage | Promise<Storage>) {}

  private get(): Promise<Storage> {
    this.made ??= Promise.resolve(this.make()).then((s) => (this.inner = s));
    return this.made;
  }

  get stats(): IoStats {
    return this.inner?.stats ?? { requests: 0, bytesRead: 0, bytesWritten: 0 };
  }

  async stat(uri: string) {
    return (await this.get()).stat(uri);
  }
  async *read(uri: string, range?: ByteRange): AsyncIterable<Uint8Array> {
    yield* (await this.get()).read(uri, range);
  }
  async readAll(uri: string) {
    return (await this.get()).readAll(uri);
  }
  async write(uri: string, body: string | Uint8Array) {
    return (await this.get()).write(uri, body);
  }
  createWriter(uri: string): ObjectWriter {
    const writer = this.get().then((s) => s.createWriter(uri));
    writer.catch(() => {}); // surfaced by the first call below
    return {
      write: async (chunk) => (await writer).write(chunk),
      end: async () => (await writer).end(),
      abort: async () => (await writer).abort(),
    };
  }
  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    yield* (await this.get()).list(prefix);
  }
  async delete(uri: string) {
    return (await this.get()).delete(uri);
  }
  async deletePrefix(prefix: string) {
    return (await this.get()).deletePrefix(prefix);
  }
  async readVersioned(uri: string) {
    return (await this.get()).readVersioned(uri);
  }
  async writeIf(uri: string, body: string | Uint8Array, condition: WriteCondition) {
    return (await this.get()).writeIf(uri, body, condition);
  }
  async deleteIf(uri: string, version: string) {
    return (await this.get()).deleteIf(uri, version);
  }
}
