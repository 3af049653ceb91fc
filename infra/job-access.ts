/**
 * Least privilege, as a table: what each phase's function may do under each of the job's
 * prefixes, and the one helper that turns a row into IAM statements on the function's role.
 *
 * Why not `bucket.grantRead(fn, 'prefix/*')`: those helpers grant wildcard actions
 * (`s3:GetObject*`, `s3:List*`, `s3:GetBucket*`, `s3:DeleteObject*`, `s3:Abort*`, …) and a
 * bucket-wide `s3:ListBucket`, more than any phase uses; the table names the exact actions and
 * scopes listing to the prefix with an `s3:prefix` condition.
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Phase } from '../functions/runtime.js';

export interface JobPrefixes {
  readonly input: string;
  readonly output: string;
  readonly scratch: string;
}

/** read: GetObject; write: PutObject (+ AbortMultipartUpload); delete: DeleteObject; list: ListBucket under the prefix. */
export type Access = 'read' | 'write' | 'delete' | 'list';

// Every phase but shuffle touches the output's claim (`_CLAIM`, functions/phases/claim.ts): Plan
// creates it (a conditional PUT), map, reduce and Commit read and renew it, Commit and Abort
// release it (a delete conditional on its ETag, which S3 allows only with s3:GetObject too).
export const PHASE_ACCESS: Readonly<Record<Phase, Readonly<Partial<Record<keyof JobPrefixes, readonly Access[]>>>>> = {
  // Plan clears what an earlier run left in the output; scratch also holds the outputs between
  // the steps of a multi-step job, which Plan lists and map reads.
  plan: {
    input: ['read', 'list'],
    output: ['read', 'write', 'delete', 'list'],
    scratch: ['read', 'write', 'delete', 'list'],
  },
  // Map lists scratch for a pipeline step's side input (an earlier step's output, read part by
  // part); it writes the output's parts in a map-only job (or last step), as reduce does.
  map: { input: ['read', 'list'], scratch: ['read', 'write', 'list'], output: ['read', 'write'] },
  shuffle: { scratch: ['read', 'write', 'list'] },
  // Fetched ranges in, its published result out; parts to the output.
  reduce: { scratch: ['read', 'write', 'list'], output: ['read', 'write'] },
  // Commit reads back its own manifest: a retried Commit whose first attempt completed redoes nothing.
  commit: { scratch: ['read', 'write', 'delete', 'list'], output: ['read', 'write', 'delete', 'list'] },
  // Abort reads the failed-attempt records (the real error) before it deletes scratch.
  abort: { output: ['read', 'write', 'delete', 'list'], scratch: ['read', 'delete', 'list'] },
};

const ACTIONS: Record<Exclude<Access, 'list'>, string[]> = {
  read: ['s3:GetObject'],
  write: ['s3:PutObject', 's3:AbortMultipartUpload'],
  delete: ['s3:DeleteObject'],
};

/** Grants `access` under `prefix` of `bucket`: one statement for the object actions, one for listing. */
export function grantObjects(grantee: iam.IGrantable, bucket: s3.IBucket, prefix: string, access: readonly Access[]) {
  const actions = access.flatMap((a) => (a === 'list' ? [] : ACTIONS[a]));
  if (actions.length > 0)
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions, resources: [bucket.arnForObjects(`${prefix}*`)] }),
    );
  if (access.includes('list'))
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
}

/** Each phase's function gets its row of PHASE_ACCESS, and nothing else on the bucket. */
export function grantPhaseAccess(
  functions: Readonly<Record<Phase, iam.IGrantable>>,
  bucket: s3.IBucket,
  prefixes: JobPrefixes,
): void {
  for (const [phase, row] of Object.entries(PHASE_ACCESS) as [Phase, Partial<Record<keyof JobPrefixes, Access[]>>][])
    for (const [where, access] of Object.entries(row) as [keyof JobPrefixes, Access[]][])
      grantObjects(functions[phase], bucket, prefixes[where], access);
}
