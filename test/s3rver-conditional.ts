/**
 * S3's conditional writes, which s3rver 3.7.1 predates (it ignores the headers, so every
 * conditional PUT succeeds and two runs would both "create" one claim): a PutObject with
 * `If-None-Match: *` fails with 412 PreconditionFailed when the key exists, one with
 * `If-Match: <ETag>` when the key's ETag differs (404 NoSuchKey when it is missing), and a
 * DeleteObject with `If-Match` likewise. Each check and the write it guards are atomic per key,
 * as on S3: of racing conditional writes exactly one applies. Outputs' claims
 * (functions/phases/claim.ts) rely on it.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface Context {
  params: { bucket: string; key: string };
  headers: Record<string, string | undefined>;
  store: { getMetadata(bucket: string, key: string): Promise<{ etag: string }> };
}
type Controller = (ctx: Context) => Promise<void>;

const controllers = require('s3rver/lib/controllers/object.js') as Record<string, Controller> & {
  conditional?: boolean;
};
const S3Error = require('s3rver/lib/models/error.js') as new (
  code: string,
  message: string,
  detail?: Record<string, string>,
) => Error;

/** The tail of each key's queue of writes: a write runs once those before it have settled. */
const queues = new Map<string, Promise<unknown>>();

function serialized<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = queues.get(key) ?? Promise.resolve();
  const run = before.then(work, work);
  const tail = run.catch(() => {});
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

async function etagOf(ctx: Context): Promise<string | undefined> {
  try {
    return (await ctx.store.getMetadata(ctx.params.bucket, ctx.params.key)).etag;
  } catch {
    return undefined; // no such object
  }
}

/** Throws S3's error when the request's If-None-Match / If-Match does not hold. */
async function checkConditions(ctx: Context): Promise<void> {
  const noneMatch = ctx.headers['if-none-match'];
  const match = ctx.headers['if-match'];
  if (noneMatch === undefined && match === undefined) return;
  const etag = await etagOf(ctx);
  if (noneMatch !== undefined && etag !== undefined)
    throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: 'If-None-Match',
    });
  if (match !== undefined) {
    if (etag === undefined)
      throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: ctx.params.key });
    if (match !== etag && `"${match}"` !== etag)
      throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
        Condition: 'If-Match',
      });
  }
}

if (!controllers.conditional) {
  controllers.conditional = true;
  for (const name of ['putObject', 'deleteObject'] as const) {
    const original = controllers[name]!;
    controllers[name] = (ctx) =>
      serialized(`${ctx.params.bucket}/${ctx.params.key}`, async () => {
        await checkConditions(ctx);
        await original(ctx);
      });
  }
}
