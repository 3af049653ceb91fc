/**
 * IAM as the cloud harness enforces it: the identity policies the synthesized template gives a
 * role, evaluated the way IAM evaluates them (actions and resources with wildcards, StringLike /
 * StringEquals conditions on the request's context keys), and an S3 front door per principal
 * that refuses what its role does not allow with S3's own AccessDenied, and records which grant
 * allowed each request: so a test can compare what each role was given with what it used, both
 * ways. Only identity policies are modelled: bucket policies (the template's SSL-only Deny) do
 * not apply to the test's plain-HTTP S3 server.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolveTokens, type Template } from '../../infra/template-definition.js';

export interface Statement {
  /** `<policy logical id>#<index>`. */
  id: string;
  effect: 'Allow' | 'Deny';
  actions: string[];
  resources: string[];
  conditions?: Record<string, Record<string, string | string[]>>;
}

/** One permission a request needs: an action on a resource, with the request's condition keys. */
export interface Need {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

/** A grant: one action pattern on one resource pattern of one statement. */
export type Grant = `${string}|${string}|${string}`;
export const grantOf = (statementId: string, action: string, resource: string): Grant =>
  `${statementId}|${action}|${resource}`;

/** The identity policies of a role of the template (its attached AWS::IAM::Policy resources and inline policies). */
export function roleStatements(template: Template, roleId: string, resolve: (x: unknown) => unknown): Statement[] {
  const out: Statement[] = [];
  const add = (policyId: string, doc: unknown) => {
    const statements = (resolve(doc) as { Statement: Record<string, unknown>[] }).Statement;
    statements.forEach((st, i) => {
      if (st.NotAction || st.NotResource) throw new Error(`${policyId}: NotAction/NotResource are not modelled`);
      out.push({
        id: `${policyId}#${i}`,
        effect: st.Effect as 'Allow' | 'Deny',
        actions: [st.Action as string | string[]].flat(),
        resources: [st.Resource as string | string[]].flat(),
        ...(st.Condition ? { conditions: st.Condition as Statement['conditions'] } : {}),
      });
    });
  };
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type === 'AWS::IAM::Policy') {
      const roles = ((r.Properties!.Roles as { Ref?: string }[] | undefined) ?? []).map((x) => x.Ref);
      if (roles.includes(roleId)) add(id, r.Properties!.PolicyDocument);
    }
    if (id === roleId && r.Type === 'AWS::IAM::Role') {
      const inline = (r.Properties?.Policies ?? []) as { PolicyName: string; PolicyDocument: unknown }[];
      for (const p of inline) add(`${id}/${p.PolicyName}`, p.PolicyDocument);
      if ((r.Properties?.ManagedPolicyArns as unknown[] | undefined)?.length)
        throw new Error(`${id}: managed policies are not modelled (the job's roles have none)`);
    }
  }
  return out;
}

/** IAM's wildcard match: `*` any run of characters, `?` one. */
function globMatch(pattern: string, value: string, caseInsensitive = false): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    caseInsensitive ? 'is' : 's',
  );
  return re.test(value);
}

function conditionsHold(conditions: Statement['conditions'], context: Record<string, string>): boolean {
  for (const [operator, keys] of Object.entries(conditions ?? {}))
    for (const [key, expected] of Object.entries(keys)) {
      const actual = context[key];
      const values = [expected].flat();
      const like = operator.includes('Like');
      const matches = actual !== undefined && values.some((v) => (like ? globMatch(v, actual) : v === actual));
      if (operator === 'StringLike' || operator === 'StringEquals') {
        if (!matches) return false;
      } else if (operator === 'StringNotLike' || operator === 'StringNotEquals') {
        if (actual !== undefined && matches) return false;
      } else return false; // an operator the model does not know never allows
    }
  return true;
}

/** IAM's decision for one need: an explicit Deny wins, else any Allow; `grants` are the Allow matches. */
export function evaluate(statements: Statement[], need: Need): { allowed: boolean; grants: Grant[] } {
  const grants: Grant[] = [];
  let denied = false;
  for (const st of statements) {
    const action = st.actions.find((a) => globMatch(a, need.action, true));
    const resource = st.resources.find((r) => globMatch(r, need.resource));
    if (!action || !resource || !conditionsHold(st.conditions, need.context ?? {})) continue;
    if (st.effect === 'Deny') denied = true;
    else grants.push(grantOf(st.id, action, resource));
  }
  return { allowed: !denied && grants.length > 0, grants };
}

/** Every grant of the statements whose action is one of `services` (e.g. `s3:`), as [grant, statement]. */
export function grantsOf(statements: Statement[], services: string[]): Grant[] {
  const out: Grant[] = [];
  for (const st of statements)
    if (st.effect === 'Allow')
      for (const a of st.actions)
        if (services.some((s) => a.startsWith(s))) for (const r of st.resources) out.push(grantOf(st.id, a, r));
  return out;
}

/** The S3 request on the wire (path-style), as the permissions it needs. */
export function s3Needs(method: string, url: URL, headers: http.IncomingHttpHeaders, body?: string): Need[] {
  const parts = url.pathname.split('/').slice(1).map(decodeURIComponent);
  const bucket = parts[0] ?? '';
  const key = parts.slice(1).join('/');
  const q = url.searchParams;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const objectArn = `${bucketArn}/${key}`;
  const copySource = headers['x-amz-copy-source'];
  const source = typeof copySource === 'string' ? decodeURIComponent(copySource.replace(/^\//, '').split('?')[0]!) : '';
  const withSource = (needs: Need[]) =>
    copySource ? [...needs, { action: 's3:GetObject', resource: `arn:aws:s3:::${source}` }] : needs;
  if (parts.length === 1 || key === '') {
    if (method === 'GET' && q.has('uploads')) return [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn }];
    if (method === 'GET' && q.has('location')) return [{ action: 's3:GetBucketLocation', resource: bucketArn }];
    if (method === 'GET' && q.has('versions')) return [{ action: 's3:ListBucketVersions', resource: bucketArn }];
    if (method === 'GET' || method === 'HEAD')
      return [{ action: 's3:ListBucket', resource: bucketArn, context: { 's3:prefix': q.get('prefix') ?? '' } }];
    if (method === 'POST' && q.has('delete'))
      return [...(body ?? '').matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => ({
        action: 's3:DeleteObject',
        resource: `${bucketArn}/${unescapeXml(m[1]!)}`,
      }));
    return [{ action: `unknown:${method} bucket`, resource: bucketArn }];
  }
  switch (method) {
    case 'GET':
      if (q.has('uploadId')) return [{ action: 's3:ListMultipartUploadParts', resource: objectArn }];
      if (q.has('tagging')) return [{ action: 's3:GetObjectTagging', resource: objectArn }];
      return [{ action: q.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', resource: objectArn }];
    case 'HEAD':
      return [{ action: 's3:GetObject', resource: objectArn }];
    case 'PUT':
      if (q.has('tagging')) return [{ action: 's3:PutObjectTagging', resource: objectArn }];
      return withSource([{ action: 's3:PutObject', resource: objectArn }]); // PutObject, UploadPart(Copy), CopyObject
    case 'POST':
      if (q.has('uploads') || q.has('uploadId')) return [{ action: 's3:PutObject', resource: objectArn }];
      break;
    case 'DELETE':
      return [{ action: q.has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject', resource: objectArn }];
  }
  return [{ action: `unknown:${method} object`, resource: objectArn }];
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|quot|apos|amp|#(\d+)|#x([0-9a-f]+));/gi, (_, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(Number.parseInt(hex, 16));
    return { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' }[name.toLowerCase()]!;
  });
}

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A request an S3 front door saw: who, what it needed, whether IAM allowed it, and S3's answer. */
export interface S3Request {
  principal: string;
  method: string;
  /** Path and query as sent. */
  url: string;
  needs: Need[];
  allowed: boolean;
  /** The upstream's HTTP status (403 when refused here). */
  status: number;
  /** When the answer was complete (ms since the epoch). */
  end: number;
}

export interface Principal {
  /** Named in AccessDenied messages and in the request log. */
  name: string;
  statements: Statement[];
}

/**
 * S3 front doors: one endpoint per principal, in front of one upstream S3 endpoint. Every
 * request is checked against the principal's policies before it is forwarded unchanged (the
 * client's signature still holds: Host and every header go through as sent).
 */
export class S3Guard {
  /** Every request, in the order the answers completed. */
  readonly requests: S3Request[] = [];
  /** Grant → requests it allowed, per principal (summed over every front door opened under its name). */
  readonly used = new Map<string, Map<Grant, number>>();
  /** Each principal's identity policy statements, by name. */
  readonly principals = new Map<string, Statement[]>();
  private readonly servers: http.Server[] = [];
  private readonly agent = new http.Agent({ keepAlive: true });

  constructor(private readonly upstream: string) {}

  /** Starts the front door of a principal; returns its endpoint. */
  async open(principal: Principal): Promise<string> {
    const up = new URL(this.upstream);
    // A job deployed again (scaled differently) has the same roles: its doors add to the same counts.
    const used = this.used.get(principal.name) ?? new Map<Grant, number>();
    this.used.set(principal.name, used);
    this.principals.set(principal.name, principal.statements);
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://s3');
      const isDelete = req.method === 'POST' && url.searchParams.has('delete');
      const decide = (body?: Buffer) => {
        const needs = s3Needs(req.method ?? 'GET', url, req.headers, body?.toString('utf8'));
        const decisions = needs.map((n) => evaluate(principal.statements, n));
        const denied = needs.filter((_, i) => !decisions[i]!.allowed);
        const log = (status: number, allowed: boolean) =>
          this.requests.push({
            principal: principal.name,
            method: req.method ?? 'GET',
            url: req.url ?? '/',
            needs,
            allowed,
            status,
            end: Date.now(),
          });
        if (denied.length > 0) {
          log(403, false);
          const message = (n: Need) =>
            `User: arn:aws:sts::123456789012:assumed-role/${principal.name} is not authorized to perform: ${n.action} on resource: "${n.resource}" because no identity-based policy allows the ${n.action} action`;
          if (isDelete) {
            // DeleteObjects answers 200 with an error per key; none is deleted here (see the class notes).
            const errors = needs
              .map(
                (n) =>
                  `<Error><Key>${escapeXml(n.resource.replace(/^arn:aws:s3:::[^/]+\//, ''))}</Key><Code>AccessDenied</Code><Message>${escapeXml(message(n))}</Message></Error>`,
              )
              .join('');
            res.writeHead(200, { 'content-type': 'application/xml' });
            res.end(`<?xml version="1.0" encoding="UTF-8"?><DeleteResult>${errors}</DeleteResult>`);
            return;
          }
          res.writeHead(403, { 'content-type': 'application/xml', 'x-amz-request-id': randomUUID() });
          res.end(
            req.method === 'HEAD'
              ? undefined
              : `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${escapeXml(message(denied[0]!))}</Message><RequestId>${randomUUID()}</RequestId></Error>`,
          );
          return;
        }
        for (const d of decisions) for (const g of d.grants) used.set(g, (used.get(g) ?? 0) + 1);
        const forward = http.request(
          {
            host: up.hostname,
            port: up.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
            agent: this.agent,
          },
          (upRes) => {
            res.writeHead(upRes.statusCode ?? 502, upRes.headers);
            upRes.pipe(res);
            upRes.on('end', () => log(upRes.statusCode ?? 502, true));
          },
        );
        forward.on('error', (e) => {
          log(502, true);
          res.destroy(e);
        });
        if (body) forward.end(body);
        else req.pipe(forward);
      };
      if (isDelete) {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => decide(Buffer.concat(chunks)));
      } else decide();
    });
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    server.unref();
    this.servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Records a decision made outside S3 (e.g. lambda:InvokeFunction by the state machine's role). */
  recordUse(principal: string, decision: { allowed: boolean; grants: Grant[] }, need?: Need): void {
    let used = this.used.get(principal);
    if (!used) this.used.set(principal, (used = new Map()));
    for (const g of decision.grants) used.set(g, (used.get(g) ?? 0) + 1);
    if (!decision.allowed && need)
      this.requests.push({
        principal,
        method: 'INVOKE',
        url: need.resource,
        needs: [need],
        allowed: false,
        status: 403,
        end: Date.now(),
      });
  }

  /**
   * The grants of a principal's policies, for actions of `services` (e.g. `s3:`), that allowed no
   * request so far: a role given more than it uses.
   */
  unusedGrants(principal: string, services: string[]): string[] {
    const statements = this.principals.get(principal);
    if (!statements) throw new Error(`No front door was opened for ${principal}`);
    const used = this.used.get(principal)!;
    const byId = new Map(statements.map((st) => [st.id, st]));
    return grantsOf(statements, services)
      .filter((g) => !used.has(g))
      .map((g) => {
        const [id, action, resource] = g.split('|') as [string, string, string];
        // Named without the statement's id (it moves as the template changes): the action and where.
        const prefix = byId.get(id)?.conditions?.StringLike?.['s3:prefix'];
        const where = resource
          .replace(/^arn:aws:s3:::[^/]+\/?/, '')
          .replace(/^arn:aws:lambda:[^:]+:\d+:function:/, 'function:');
        return `${action} ${prefix !== undefined ? `list ${[prefix].flat().join(',')}` : where || 'bucket'}`;
      });
  }

  /** Requests IAM refused (a role missing a grant it needs). */
  denials(): S3Request[] {
    return this.requests.filter((r) => !r.allowed);
  }

  async close(): Promise<void> {
    this.agent.destroy();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  }
}

/** The identity policy statements of a role, with the template's tokens resolved as the harness names resources. */
export function resolvedRoleStatements(
  template: Template,
  roleId: string,
  physical: Parameters<typeof resolveTokens>[2],
): Statement[] {
  return roleStatements(template, roleId, (x) => resolveTokens(x, template, physical));
}
