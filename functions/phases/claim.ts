/**
 * An output belongs to one run. Before a run writes anything, Plan claims its output by
 * creating `<output>/_CLAIM` exclusively (S3: a conditional `If-None-Match: *` PUT; locally: an
 * exclusive create). Map, reduce and Commit hold the claim as they start (and renew it), Commit
 * publishes `_manifest.json` and `_SUCCESS` only while it holds it, then releases it; Abort
 * touches the output only while it holds it.
 *
 * A second run on a claimed output fails at once with OutputClaimedError naming the holder.
 * A claim left by a run that died is recognised and taken over with a conditional write on the
 * dead claim's version (`If-Match`), so of several runs taking it over exactly one wins:
 * - a local process's claim (host and pid) is dead when that process no longer exists on this
 *   host;
 * - otherwise (a Lambda function, or a process on another host) it is a lease: dead when not
 *   renewed for `leaseSeconds` (DEFAULTS.claimLeaseSeconds).
 */
import os from 'node:os';
import { DEFAULTS } from '../config.js';
import { type ClaimHolder, ClaimLostError, OutputClaimedError } from '../errors.js';
import { layout, type RunContext } from '../spec.js';
import type { StorageRouter } from '../storage/index.js';

export type Claim = ClaimHolder;

/** Who claims: the run (a multi-step job's own id and final output), and its execution when known. */
export interface ClaimOwner {
  output: string;
  jobId: string;
  execution?: string;
}

export function claimOwner(run: Pick<RunContext, 'jobId' | 'output' | 'pipeline' | 'execution'>): ClaimOwner {
  return {
    output: run.pipeline?.output ?? run.output,
    jobId: run.pipeline?.jobId ?? run.jobId,
    ...(run.execution ? { execution: run.execution } : {}),
  };
}

/** Attempts of a contested claim before giving up (each lost race re-reads the claim). */
const CLAIM_ROUNDS = 5;

const parse = (body: Buffer): Claim => JSON.parse(body.toString('utf8')) as Claim;

/** Ours: the same run, or the same execution (a retried Plan of a spec without a job id makes a new id). */
const isOurs = (c: Claim, owner: ClaimOwner) =>
  c.jobId === owner.jobId || (owner.execution !== undefined && c.execution === owner.execution);

function newClaim(owner: ClaimOwner): Claim {
  const now = new Date().toISOString();
  const fn = process.env.AWS_LAMBDA_FUNCTION_NAME;
  return {
    jobId: owner.jobId,
    ...(owner.execution ? { execution: owner.execution } : {}),
    claimed: now,
    renewed: now,
    leaseSeconds: DEFAULTS.claimLeaseSeconds,
    holder: fn ? { lambda: fn } : { host: os.hostname(), pid: process.pid },
  };
}

/** Whether the run holding a claim may still be running. */
export function isLive(c: Claim, now = Date.now()): boolean {
  if ('pid' in c.holder && c.holder.host === os.hostname()) {
    try {
      process.kill(c.holder.pid, 0);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, another user's
    }
  }
  return now < Date.parse(c.renewed) + c.leaseSeconds * 1000;
}

/**
 * Claims the output for `owner`: 'created' when this call made the claim (or took over a dead
 * one), 'held' when the run held it already. Throws OutputClaimedError when a live run holds it.
 */
export async function claimOutput(router: StorageRouter, owner: ClaimOwner): Promise<'created' | 'held'> {
  const uri = layout.claim(owner.output);
  const storage = router.for(uri);
  let last: Claim | undefined;
  for (let round = 0; round < CLAIM_ROUNDS; round++) {
    const current = await storage.readVersioned(uri);
    if (!current) {
      if (await storage.writeIf(uri, JSON.stringify(newClaim(owner)), { ifAbsent: true })) return 'created';
      continue; // another run created it first (or our retried write did): read it
    }
    const claim = (last = parse(current.body));
    if (isOurs(claim, owner)) {
      if (claim.jobId === owner.jobId) return 'held';
      // A retried Plan of the same execution: the claim becomes the new id's.
      if (await storage.writeIf(uri, JSON.stringify(newClaim(owner)), { ifVersion: current.version })) return 'held';
      continue;
    }
    if (isLive(claim)) throw new OutputClaimedError(owner.output, claim);
    // A dead run's claim: replace exactly that version; of several runs taking it over, one wins.
    if (await storage.writeIf(uri, JSON.stringify(newClaim(owner)), { ifVersion: current.version })) return 'created';
  }
  throw new OutputClaimedError(owner.output, last ?? newClaim({ ...owner, jobId: '(another run)' }));
}

/**
 * Checks that the run still holds its claim, renewing it once a third of the lease has passed.
 * Throws ClaimLostError when another run holds it now (or it is gone).
 */
export async function holdClaim(router: StorageRouter, owner: ClaimOwner): Promise<void> {
  const uri = layout.claim(owner.output);
  const storage = router.for(uri);
  for (let round = 0; round < CLAIM_ROUNDS; round++) {
    const current = await storage.readVersioned(uri);
    const claim = current && parse(current.body);
    if (!current || !claim || claim.jobId !== owner.jobId) throw new ClaimLostError(owner.output, owner.jobId, claim);
    if (Date.now() - Date.parse(claim.renewed) < (claim.leaseSeconds * 1000) / 3) return;
    const renewed = { ...claim, renewed: new Date().toISOString() };
    if (await storage.writeIf(uri, JSON.stringify(renewed), { ifVersion: current.version })) return;
    // Another task of this run renewed it at the same moment: read it again.
  }
}

/** Gives the output up, if the run holds it; a claim another run holds now is left alone. */
export async function releaseClaim(router: StorageRouter, owner: ClaimOwner): Promise<void> {
  const uri = layout.claim(owner.output);
  const storage = router.for(uri);
  for (let round = 0; round < CLAIM_ROUNDS; round++) {
    const current = await storage.readVersioned(uri);
    if (!current || parse(current.body).jobId !== owner.jobId) return;
    if (await storage.deleteIf(uri, current.version)) return;
  }
}

/** The claim on an output, if any. */
export async function readClaim(router: StorageRouter, output: string): Promise<Claim | undefined> {
  const uri = layout.claim(output);
  const current = await router.for(uri).readVersioned(uri);
  return current && parse(current.body);
}
