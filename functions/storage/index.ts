import { LocalStorage } from './local.js';
import { S3Storage } from './s3.js';
import type { IoStats, Storage } from './types.js';
import { parseUri } from './uri.js';

export type { ByteRange, IoStats, ObjectInfo, ObjectWriter, Storage } from './types.js';

/** Picks the storage for each URI scheme; one instance per scheme, so I/O stats add up. */
export class StorageRouter {
  private readonly local = new LocalStorage();
  private s3: Storage | undefined;

  /** @param makeS3 makes the storage for `s3://` URIs (tests wrap it, e.g. to enforce IAM). */
  constructor(private readonly makeS3: () => Storage = () => new S3Storage()) {}

  for(uri: string): Storage {
    if (parseUri(uri).kind === 'file') return this.local;
    this.s3 ??= this.makeS3();
    return this.s3;
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
