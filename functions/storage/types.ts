/** One interface over where data lives (DESIGN §3): the local file system now, S3 next. */

export interface ObjectInfo {
  readonly uri: string;
  readonly size: number;
}

/** Byte range [start, end); `end` is clipped to the object's size. */
export interface ByteRange {
  readonly start: number;
  readonly end?: number;
}

/**
 * A streaming write. The object becomes visible only when `end()` resolves (atomic rename
 * locally, multipart completion on S3), so a failed or abandoned attempt never leaves a
 * half-written object under the final name.
 */
export interface ObjectWriter {
  /** Resolves when the chunk is accepted; awaiting it is how a producer respects backpressure. */
  write(chunk: Uint8Array): Promise<void>;
  /** Publishes the object; resolves with its size in bytes. */
  end(): Promise<number>;
  /** Discards everything written so far. */
  abort(): Promise<void>;
}

/** Requests and bytes a storage instance has made, for the job's manifest. */
export interface IoStats {
  requests: number;
  bytesRead: number;
  bytesWritten: number;
}

/** A small object with its version (S3: its ETag; locally: a hash of its bytes), for conditional writes. */
export interface VersionedObject {
  readonly body: Buffer;
  readonly version: string;
}

/**
 * When a conditional write applies: `{ ifAbsent: true }` only if no object is at the key (S3's
 * `If-None-Match: *`), `{ ifVersion }` only if the object is at that version (`If-Match`).
 */
export type WriteCondition = { readonly ifAbsent: true } | { readonly ifVersion: string };

export interface Storage {
  readonly stats: IoStats;
  /** The object's size, or undefined when there is no object at `uri`. */
  stat(uri: string): Promise<ObjectInfo | undefined>;
  /** Streams the bytes of a range of an object (the whole object without a range). */
  read(uri: string, range?: ByteRange): AsyncIterable<Uint8Array>;
  /**
   * The bytes [start, end) at once, where a read never waits on a network (local files): what
   * `read` gives, in one request, without an iterator. Storage without it has `read` only.
   * With `into` large enough, the bytes are read into it and a view of it is returned.
   */
  readNow?(uri: string, range: Required<ByteRange>, into?: Buffer): Buffer;
  /** Reads a small object whole. Throws ObjectNotFoundError when absent. */
  readAll(uri: string): Promise<Buffer>;
  /** Writes a small object whole, atomically. */
  write(uri: string, body: string | Uint8Array): Promise<void>;
  /** Opens a streaming, atomically published write. */
  createWriter(uri: string): ObjectWriter;
  /** Every object under a prefix (a directory locally), recursively, in byte order of URI. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /**
   * What `list` gives, at once, where listing never waits on a network (local files): an
   * async iterator's step per object cost Plan ~3 µs of 16,180 short documents' listing each.
   */
  listNow?(prefix: string): ObjectInfo[];
  /** Deletes one object; absent objects are fine. */
  delete(uri: string): Promise<void>;
  /** Deletes every object under a prefix; returns how many were deleted. */
  deletePrefix(prefix: string): Promise<number>;
  /** Reads a small object whole with its version, or undefined when absent. */
  readVersioned(uri: string): Promise<VersionedObject | undefined>;
  /**
   * Writes a small object whole, atomically, only if `condition` holds. Resolves false when it
   * did not (S3's 412 PreconditionFailed), or when another conditional write to the key raced
   * it (409 ConditionalRequestConflict): read the object again and decide. A write whose
   * response was lost and retried can also answer false though it applied: callers check what
   * the object holds.
   */
  writeIf(uri: string, body: string | Uint8Array, condition: WriteCondition): Promise<boolean>;
  /** Deletes the object only if it is at `version`; false when it is not, or is absent. */
  deleteIf(uri: string, version: string): Promise<boolean>;
}
