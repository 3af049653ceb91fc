/**
 * s3rver 3.7.1 keeps objects as files in directories named after the key's segments, and
 * removes a directory when its last object is deleted. A PUT racing that removal (a task that
 * runs on after its job was aborted, writing into the scratch Abort is deleting: what Lambda
 * invocations do on AWS) fails to open its file with ENOENT, and since s3rver attaches no error
 * listener to that write stream, the error ends the test process. Real S3 has no directories:
 * the PUT succeeds. This patch makes s3rver's filesystem store do that (the directory is made
 * again and the write retried) and makes the directory clean-up of a DELETE tolerate a PUT that
 * lands in it meanwhile.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

interface StoreObject {
  bucket: string;
  key: string;
  content: Buffer | NodeJS.ReadableStream;
  metadata: Record<string, string>;
}
interface Store {
  getResourcePath(bucket: string, key: string, resource: string): string;
  getBucketPath(bucket: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoreObject): Promise<{ size: number; md5: string }>;
  deleteObject(bucket: string, key: string): Promise<void>;
}

const FilesystemStore = require('s3rver/lib/stores/filesystem.js') as { prototype: Store; patched?: boolean };

if (!FilesystemStore.patched) {
  FilesystemStore.patched = true;

  FilesystemStore.prototype.putObject = async function putObject(this: Store, object: StoreObject) {
    const objectPath = this.getResourcePath(object.bucket, object.key, 'object');
    // A stream body can be read once: keep it in memory so a retried write has it (test objects are small).
    const content = Buffer.isBuffer(object.content)
      ? object.content
      : Buffer.concat(await collect(object.content as NodeJS.ReadableStream));
    for (let attempt = 1; ; attempt++) {
      try {
        await fs.promises.mkdir(path.dirname(objectPath), { recursive: true });
        await fs.promises.writeFile(objectPath, content);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw e;
      }
    }
    const md5 = createHash('md5').update(content).digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: content.length, md5 };
  };

  const deleteObject = FilesystemStore.prototype.deleteObject;
  FilesystemStore.prototype.deleteObject = async function patchedDelete(this: Store, bucket: string, key: string) {
    try {
      await deleteObject.call(this, bucket, key);
    } catch (e) {
      // The object is gone; only the clean-up of its directories met a PUT or another DELETE.
      if (!['ENOENT', 'ENOTEMPTY'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
    }
  };
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(c));
  return chunks;
}
