import fs from 'node:fs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import { tempDir } from './helpers.js';
import './s3rver-races.js';
import './s3rver-conditional.js';

/** The environment that points the AWS SDK (ours and the workers') at a local S3 server. */
export interface S3Server {
  endpoint: string;
  client: S3Client;
  createBucket(name: string): Promise<void>;
  stop(): Promise<void>;
}

const ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
  // s3rver predates the SDK's default CRC checksums: send and check them only where required.
  AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
  AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
};

/** Starts s3rver (a real S3 protocol server) on a free loopback port and points process.env at it. */
export async function startS3Server(): Promise<S3Server> {
  const directory = tempDir('streaming-s3rver-');
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const saved = Object.fromEntries(Object.keys({ ...ENV, AWS_ENDPOINT_URL_S3: '' }).map((k) => [k, process.env[k]]));
  Object.assign(process.env, ENV, { AWS_ENDPOINT_URL_S3: endpoint });
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  return {
    endpoint,
    client,
    async createBucket(name) {
      await client.send(new CreateBucketCommand({ Bucket: name }));
    },
    async stop() {
      client.destroy();
      await server.close();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
