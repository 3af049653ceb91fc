import { LocalStorage } from './local.js';
import type { Storage } from './types.js';
import { parseUri } from './uri.js';

export type { ByteRange, IoStats, ObjectInfo, ObjectWriter, Storage } from './types.js';

/** Picks the storage for each URI scheme; one instance per scheme, so I/O stats add up. */
export class StorageRouter {
  private readonly local = new LocalStorage();

  for(uri: string): Storage {
    const loc = parseUri(uri);
    if (loc.kind === 'file') return this.local;
    throw new Error(`S3 storage is not available in this build: cannot reach ${uri}. Use local paths.`);
  }

  stats() {
    return { ...this.local.stats };
  }
}
