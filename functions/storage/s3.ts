import { PassThrough, type Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { DEFAULTS } from '../config.js';
import { ObjectNotFoundError } from '../errors.js';
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

/** Bytes per multipart part, and parts uploaded at once, of a streaming write. */
const PART_BYTES = 8 * 1024 * 1024;
const PART_CONCURRENCY = 4;
const DELETE_BATCH = 1000;

function location(uri: string): { Bucket: string; Key: string } {
  const loc = parseUri(uri);
  if (loc.kind !== 's3') throw new Error(`S3Storage cannot reach ${uri}`);
  return { Bucket: loc.bucket, Key: loc.key };
}

/** A conditional request that did not apply: 412 PreconditionFailed, 409 ConditionalRequestConflict (a racing conditional write), or 404 for If-Match on a missing key. */
const conditionFailed = (e: unknown) => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = err.$metadata?.httpStatusCode;
  return (
    status === 412 ||
    status === 409 ||
    status === 404 ||
    ['PreconditionFailed', 'ConditionalRequestConflict', 'NoSuchKey'].includes(err.name ?? '')
  );
};

const notFound = (e: unknown) => {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
};

/**
 * The client from the standard AWS configuration: region and credentials from the usual chain,
 * the endpoint from AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (LocalStack, a local S3 server),
 * checksum behaviour from AWS_REQUEST_CHECKSUM_CALCULATION / AWS_RESPONSE_CHECKSUM_VALIDATION,
 * retries adaptive with DEFAULTS.s3MaxAttempts attempts (AWS_RETRY_MODE / AWS_MAX_ATTEMPTS override).
 * Path-style addressing is used whenever an endpoint is configured (local servers rarely
 * resolve bucket subdomains), or when STREAMING_S3_FORCE_PATH_STYLE=true.
 */
export function s3ClientFromEnvironment(overrides: S3ClientConfig = {}): S3Client {
  const env = process.env;
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const forcePathStyle = env.STREAMING_S3_FORCE_PATH_STYLE
    ? env.STREAMING_S3_FORCE_PATH_STYLE === 'true'
    : endpoint !== undefined;
  return new S3Client({
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle,
    retryMode: env.AWS_RETRY_MODE ?? 'adaptive',
    maxAttempts: Number(env.AWS_MAX_ATTEMPTS) || DEFAULTS.s3MaxAttempts,
    ...overrides,
  });
}

/** Amazon S3 (or any S3 protocol server) through the AWS SDK v3. */
export class S3Storage implements Storage {
  readonly stats: IoStats = { requests: 0, bytesRead: 0, bytesWritten: 0 };

  constructor(private readonly client: S3Client = s3ClientFromEnvironment()) {}

  async stat(uri: string): Promise<ObjectInfo | undefined> {
    const { Bucket, Key } = location(uri);
    if (Key === '' || Key.endsWith('/')) return undefined;
    this.stats.requests++;
    // A one-key listing, not HeadObject: a HEAD of a missing key is a 404 only with bucket-wide
    // s3:ListBucket, and the deployed functions may list their own prefixes only (403 otherwise).
    const page = await this.client.send(new ListObjectsV2Command({ Bucket, Prefix: Key, MaxKeys: 1 }));
    const first = page.Contents?.[0];
    return first?.Key === Key ? { uri, size: first.Size ?? 0 } : undefined;
  }

  async *read(uri: string, range: ByteRange = { start: 0 }): AsyncIterable<Uint8Array> {
    const { Bucket, Key } = location(uri);
    if (range.end !== undefined && range.end <= range.start) return;
    const Range =
      range.start > 0 || range.end !== undefined
        ? `bytes=${range.start}-${range.end === undefined ? '' : range.end - 1}`
        : undefined;
    this.stats.requests++;
    let body: Readable;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket, Key, ...(Range ? { Range } : {}) }));
      body = res.Body as Readable;
    } catch (e) {
      if (notFound(e)) throw new ObjectNotFoundError(uri);
      if ((e as { name?: string }).name === 'InvalidRange') return; // the range starts at or past the end
      throw e;
    }
    for await (const chunk of body) {
      this.stats.bytesRead += (chunk as Uint8Array).length;
      yield chunk as Uint8Array;
    }
  }

  async readAll(uri: string): Promise<Buffer> {
    const { Bucket, Key } = location(uri);
    this.stats.requests++;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket, Key }));
      const bytes = Buffer.from(await res.Body!.transformToByteArray());
      this.stats.bytesRead += bytes.length;
      return bytes;
    } catch (e) {
      if (notFound(e)) throw new ObjectNotFoundError(uri);
      throw e;
    }
  }

  async write(uri: string, body: string | Uint8Array): Promise<void> {
    const { Bucket, Key } = location(uri);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    this.stats.requests++;
    await this.client.send(new PutObjectCommand({ Bucket, Key, Body: bytes }));
    this.stats.bytesWritten += bytes.length;
  }

  /** A multipart upload fed as it is written; the object appears only when it completes. */
  createWriter(uri: string): ObjectWriter {
    const { Bucket, Key } = location(uri);
    const stats = this.stats;
    const body = new PassThrough({ highWaterMark: PART_BYTES });
    const upload = new Upload({
      client: this.client,
      params: { Bucket, Key, Body: body },
      partSize: PART_BYTES,
      queueSize: PART_CONCURRENCY,
    });
    upload.on('httpUploadProgress', () => stats.requests++);
    const done = upload.done();
    // Surface an upload failure at the next write or at end(), not as an unhandled rejection.
    let failure: unknown;
    done.catch((e) => {
      failure = e;
      body.destroy();
    });
    let bytes = 0;
    return {
      async write(chunk) {
        if (failure) throw failure;
        bytes += chunk.length;
        stats.bytesWritten += chunk.length;
        if (!body.write(chunk)) await new Promise<void>((resolve) => body.once('drain', resolve));
      },
      async end() {
        if (failure) throw failure;
        body.end();
        await done;
        return bytes;
      },
      async abort() {
        await upload.abort().catch(() => {});
        body.destroy();
      },
    };
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const { Bucket, Key } = location(prefix);
    // A prefix names a "directory": `s3://b/in` lists `in/…`, never `input2/…`.
    const Prefix = Key === '' || Key.endsWith('/') ? Key : `${Key}/`;
    for await (const page of paginateListObjectsV2({ client: this.client }, { Bucket, Prefix })) {
      this.stats.requests++;
      for (const o of page.Contents ?? []) if (o.Key) yield { uri: `s3://${Bucket}/${o.Key}`, size: o.Size ?? 0 };
    }
  }

  async delete(uri: string): Promise<void> {
    this.stats.requests++;
    await this.client.send(new DeleteObjectCommand(location(uri)));
  }

  async deletePrefix(prefix: string): Promise<number> {
    const { Bucket } = location(prefix);
    let batch: { Key: string }[] = [];
    let n = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      this.stats.requests++;
      const res = await this.client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: batch, Quiet: true } }));
      if (res.Errors?.length)
        throw new Error(`Could not delete ${res.Errors.length} objects under ${prefix}: ${res.Errors[0]?.Message}`);
      n += batch.length;
      batch = [];
    };
    for await (const o of this.list(prefix)) {
      batch.push({ Key: location(o.uri).Key });
      if (batch.length === DELETE_BATCH) await flush();
    }
    await flush();
    return n;
  }

  async readVersioned(uri: string): Promise<VersionedObject | undefined> {
    const { Bucket, Key } = location(uri);
    this.stats.requests++;
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket, Key }));
      const body = Buffer.from(await res.Body!.transformToByteArray());
      this.stats.bytesRead += body.length;
      return { body, version: res.ETag ?? '' };
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  /** A PutObject with `If-None-Match: *` or `If-Match: <ETag>` (S3 conditional writes). */
  async writeIf(uri: string, body: string | Uint8Array, condition: WriteCondition): Promise<boolean> {
    const { Bucket, Key } = location(uri);
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    this.stats.requests++;
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket,
          Key,
          Body: bytes,
          ...('ifAbsent' in condition ? { IfNoneMatch: '*' } : { IfMatch: condition.ifVersion }),
        }),
      );
    } catch (e) {
      if (conditionFailed(e)) return false;
      throw e;
    }
    this.stats.bytesWritten += bytes.length;
    return true;
  }

  /** A DeleteObject with `If-Match: <ETag>` (S3 conditional deletes). */
  async deleteIf(uri: string, version: string): Promise<boolean> {
    this.stats.requests++;
    try {
      await this.client.send(new DeleteObjectCommand({ ...location(uri), IfMatch: version }));
      return true;
    } catch (e) {
      if (conditionFailed(e)) return false;
      throw e;
    }
  }
}
