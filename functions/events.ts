/**
 * Turns what started an execution into a job spec (DESIGN §2, Plan): an SDK/CLI call passes a
 * spec as it is; an S3 "Object Created" event (EventBridge) and a "Scheduled Event" are
 * normalised using the trigger settings the deployment gives the Plan function:
 *
 *   STREAMING_UPLOAD_OUTPUT  output prefix for uploads: the object `k` writes to `<prefix><k>/`
 *   STREAMING_SCHEDULE_INPUT  the fixed input of scheduled runs
 *   STREAMING_SCHEDULE_OUTPUT output prefix of scheduled runs: each writes to `<prefix><time>/`
 *   STREAMING_PROTECTED       comma-separated prefixes jobs write (outputs, scratch): an object
 *                             created there never starts a job, so jobs cannot trigger themselves
 */
import { InvalidJobError } from './errors.js';

interface S3ObjectCreated {
  source: 'aws.s3';
  'detail-type': 'Object Created';
  id?: string;
  detail: { bucket: { name: string }; object: { key: string } };
}

interface ScheduledEvent {
  source: 'aws.events';
  'detail-type': 'Scheduled Event';
  time: string;
  id?: string;
}

const isObjectCreated = (e: Record<string, unknown>): e is S3ObjectCreated & Record<string, unknown> =>
  e.source === 'aws.s3' && e['detail-type'] === 'Object Created';
const isScheduled = (e: Record<string, unknown>): e is ScheduledEvent & Record<string, unknown> =>
  e.source === 'aws.events' && e['detail-type'] === 'Scheduled Event';

/**
 * The delivery an execution was started by, when it was an EventBridge event: its id, which a
 * redelivery of the same event repeats (EventBridge delivers at least once). Undefined for an
 * SDK/CLI spec.
 */
export function deliveryOf(event: unknown): { id: string; kind: 'upload' | 'schedule' } | undefined {
  if (event === null || typeof event !== 'object') return undefined;
  const e = event as Record<string, unknown>;
  const kind = isObjectCreated(e) ? 'upload' : isScheduled(e) ? 'schedule' : undefined;
  return kind && typeof e.id === 'string' && e.id !== '' ? { id: e.id, kind } : undefined;
}

export function specFromEvent(event: unknown, env: Record<string, string | undefined> = process.env): unknown {
  if (event === null || typeof event !== 'object') return event;
  const e = event as Record<string, unknown>;
  if (isObjectCreated(e)) {
    const bucket = e.detail.bucket.name;
    // EventBridge gives the key URL-encoded as in S3 notifications ('+' for a space).
    const key = decodeURIComponent(e.detail.object.key.replace(/\+/g, ' '));
    const output = need(env, 'STREAMING_UPLOAD_OUTPUT', 'an S3 upload trigger');
    const uri = `s3://${bucket}/${key}`;
    for (const p of (env.STREAMING_PROTECTED ?? '').split(',').filter(Boolean))
      if (uri.startsWith(p))
        throw new InvalidJobError(
          `${uri} was written under ${p}, where jobs write: it does not start a job (no loops).`,
        );
    return { input: [uri], output: `${output.replace(/\/?$/, '/')}${key}/` };
  }
  if (isScheduled(e)) {
    const input = need(env, 'STREAMING_SCHEDULE_INPUT', 'a scheduled run');
    const output = need(env, 'STREAMING_SCHEDULE_OUTPUT', 'a scheduled run');
    // One output per scheduled time, so runs never overwrite each other: 2026-11-24T06:00:00Z → 20261124T060000Z.
    const stamp = e.time.replace(/[-:]/g, '').replace(/\.\d+/, '');
    return { input: [input], output: `${output.replace(/\/?$/, '/')}${stamp}/` };
  }
  return event;
}

function need(env: Record<string, string | undefined>, name: string, what: string): string {
  const v = env[name];
  if (!v)
    throw new InvalidJobError(
      `${what} needs ${name} on the Plan function; deploy it with StreamingJob's trigger props.`,
    );
  return v;
}
