/**
 * Enforces, in tests, the S3 permissions the synthesized template gives each function: a
 * storage wrapper that refuses any object or listing its role's policy does not allow, as S3
 * would with AccessDenied. Run under it, the deployed flow proves its IAM is enough, and the
 * template tests prove it is no more than the job's prefixes.
 */
import type { ByteRange, ObjectInfo, ObjectWriter, Storage, WriteCondition } from '../functions/storage/types.js';
import { parseUri } from '../functions/storage/uri.js';

type Json = Record<string, unknown>;
interface Grants {
  /** action → key prefixes it is allowed on (objects), or ListBucket → allowed s3:prefix patterns */
  [action: string]: string[];
}

/** The S3 grants of the role attached to a Lambda function, by the function's logical id. */
export function s3GrantsOf(
  template: { Resources: Record<string, { Type: string; Properties?: Json }> },
  functionId: string,
): Grants {
  const fn = template.Resources[functionId]!;
  const roleId = ((fn.Properties!.Role as Json)['Fn::GetAtt'] as string[])[0]!;
  const grants: Grants = {};
  for (const r of Object.values(template.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = (r.Properties!.Roles as Json[]).map((x) => x.Ref);
    if (!roles.includes(roleId)) continue;
    for (const st of (r.Properties!.PolicyDocument as { Statement: Json[] }).Statement) {
      const actions = [st.Action as string | string[]].flat().filter((a) => a.startsWith('s3:'));
      for (const a of actions) {
        const prefixes =
          a === 's3:ListBucket'
            ? // Without an s3:prefix condition a ListBucket grant covers the whole bucket.
              (
                (((st.Condition as Json | undefined)?.StringLike as Json | undefined)?.['s3:prefix'] as
                  | string[]
                  | undefined) ?? ['']
              ).map((p) => p.replace(/\*$/, ''))
            : [st.Resource].flat().map((res) => {
                const parts = ((res as Json)['Fn::Join'] as [string, unknown[]])[1];
                return String(parts[parts.length - 1])
                  .replace(/^\//, '')
                  .replace(/\*$/, '');
              });
        grants[a] = [...(grants[a] ?? []), ...prefixes];
      }
    }
  }
  return grants;
}

export class AccessDenied extends Error {
  override name = 'AccessDenied';
}

/** A storage that allows only what `grants` allow on S3 keys (any bucket: the test has one). */
export class GuardedStorage implements Storage {
  constructor(
    private readonly inner: Storage,
    private readonly grants: Grants,
    private readonly who: string,
  ) {}

  get stats() {
    return this.inner.stats;
  }

  private check(action: string, uri: string): void {
    const loc = parseUri(uri);
    if (loc.kind !== 's3') return;
    const key = action === 's3:ListBucket' && !loc.key.endsWith('/') && loc.key !== '' ? `${loc.key}` : loc.key;
    if (!(this.grants[action] ?? []).some((p) => key.startsWith(p)))
      throw new AccessDenied(
        `${this.who} may not ${action} ${uri} (allowed: ${JSON.stringify(this.grants[action] ?? [])})`,
      );
  }

  async stat(uri: string): Promise<ObjectInfo | undefined> {
    this.check('s3:ListBucket', uri);
    return this.inner.stat(uri);
  }
  read(uri: string, range?: ByteRange): AsyncIterable<Uint8Array> {
    this.check('s3:GetObject', uri);
    return this.inner.read(uri, range);
  }
  readAll(uri: string): Promise<Buffer> {
    this.check('s3:GetObject', uri);
    return this.inner.readAll(uri);
  }
  write(uri: string, body: string | Uint8Array): Promise<void> {
    this.check('s3:PutObject', uri);
    return this.inner.write(uri, body);
  }
  createWriter(uri: string): ObjectWriter {
    this.check('s3:PutObject', uri);
    return this.inner.createWriter(uri);
  }
  list(prefix: string): AsyncIterable<ObjectInfo> {
    this.check('s3:ListBucket', prefix);
    return this.inner.list(prefix);
  }
  delete(uri: string): Promise<void> {
    this.check('s3:DeleteObject', uri);
    return this.inner.delete(uri);
  }
  deletePrefix(prefix: string): Promise<number> {
    this.check('s3:ListBucket', prefix);
    this.check('s3:DeleteObject', prefix);
    return this.inner.deletePrefix(prefix);
  }
  readVersioned(uri: string) {
    this.check('s3:GetObject', uri);
    return this.inner.readVersioned(uri);
  }
  writeIf(uri: string, body: string | Uint8Array, condition: WriteCondition) {
    this.check('s3:PutObject', uri);
    return this.inner.writeIf(uri, body, condition);
  }
  deleteIf(uri: string, version: string) {
    // S3 needs s3:GetObject as well for a delete conditional on an ETag.
    this.check('s3:GetObject', uri);
    this.check('s3:DeleteObject', uri);
    return this.inner.deleteIf(uri, version);
  }
}
