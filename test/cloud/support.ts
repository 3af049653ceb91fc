/** What the cloud test files share: one S3 server and one harness per file, and S3 helpers. */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll } from '@jest/globals';
import { S3Storage, s3ClientFromEnvironment } from '../../functions/storage/s3.js';
import { type S3Server, startS3Server } from '../s3-server.js';
import { CloudHarness, type HarnessOptions } from './harness.js';

export interface Cloud {
  server: S3Server;
  harness: CloudHarness;
}

/**
 * Starts an S3 server and a harness before the file's tests and closes both after them, even
 * when a test failed mid-execution: closing settles every invocation still in flight, so no
 * timer or child process keeps jest from exiting.
 */
export function useCloud(options: Omit<HarnessOptions, 'server'> = {}): Cloud {
  const cloud = {} as Cloud;
  beforeAll(async () => {
    cloud.server = await startS3Server();
    // The first file to need the assembly bundles it (~1 min on 2 busy cores); later ones reuse it.
    cloud.harness = await CloudHarness.start({ server: cloud.server, ...options });
  }, 300_000);
  // Tasks a failed or stopped execution left running finish before the next test (on AWS they run on too).
  afterEach(() => cloud.harness?.idle());
  afterAll(async () => {
    await cloud.harness?.close();
    await cloud.server?.stop();
  });
  return cloud;
}

/** S3 as the test (an administrator) sees it. */
export const admin = () => new S3Storage(s3ClientFromEnvironment());

/** An object's text, or undefined when it does not exist. */
export async function text(uri: string): Promise<string | undefined> {
  const s = admin();
  return (await s.stat(uri)) ? (await s.readAll(uri)).toString('utf8') : undefined;
}

/** The URIs under a prefix. */
export async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of admin().list(prefix)) out.push(o.uri);
  return out;
}

export async function upload(server: S3Server, bucket: string, key: string, body: string | Uint8Array): Promise<void> {
  await server.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

/** A promise and the function that settles it: the tests' way to wait on an event instead of a clock. */
export function signal<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
