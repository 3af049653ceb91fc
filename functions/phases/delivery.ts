/**
 * EventBridge delivers an event at least once, so one upload (or one scheduled time) can start
 * two executions. Plan records each event's first execution before it claims anything: an
 * exclusive create (a conditional `If-None-Match: *` PUT on S3) of
 * `<scratch>/deliveries/<event id>.json`, naming the execution. A later execution of the same
 * event finds another execution there: it does nothing (Plan returns `duplicate`, and the state
 * machine ends at once, successfully) and says so in its log. A retried Plan of the first
 * execution finds its own execution there and goes on.
 *
 * The records live under the scratch prefix, so the bucket's scratch expiry removes them, long
 * after EventBridge stops retrying a delivery (24 hours at most).
 */
import { deliveryOf } from '../events.js';
import { scratchBase } from '../spec.js';
import type { StorageRouter } from '../storage/index.js';
import { joinUri } from '../storage/uri.js';

export interface DeliveryRecord {
  event: string;
  kind: 'upload' | 'schedule';
  execution: string;
  time: string;
  output: string;
}

/** What Plan returns for a redelivered event; the state machine ends on it. */
export interface DuplicateDelivery {
  duplicate: DeliveryRecord & { firstExecution: string; message: string };
}

export const deliveryRecord = (eventId: string, scratch?: string) =>
  joinUri(scratchBase(scratch), 'deliveries', `${encodeURIComponent(eventId)}.json`);

/**
 * Records `execution` as the first to handle `event`, or says which execution did. Undefined
 * (go on) for anything not started by an EventBridge event, or run outside Step Functions.
 */
export async function checkDelivery(
  router: StorageRouter,
  event: unknown,
  execution: string | undefined,
  output: string,
): Promise<DuplicateDelivery | undefined> {
  const delivery = deliveryOf(event);
  if (!delivery || !execution) return undefined;
  const uri = deliveryRecord(delivery.id);
  const storage = router.for(uri);
  const mine: DeliveryRecord = {
    event: delivery.id,
    kind: delivery.kind,
    execution,
    time: new Date().toISOString(),
    output,
  };
  for (;;) {
    if (await storage.writeIf(uri, JSON.stringify(mine), { ifAbsent: true })) return undefined;
    const first = await storage.readVersioned(uri);
    if (!first) continue; // removed between the two requests (scratch expiry): create it again
    const record = JSON.parse(first.body.toString('utf8')) as DeliveryRecord;
    if (record.execution === execution) return undefined; // a retried Plan of the first execution
    return {
      duplicate: {
        ...mine,
        firstExecution: record.execution,
        message:
          `Event ${delivery.id} was delivered again; execution ${record.execution} has handled it since ${record.time} ` +
          `(into ${record.output}). Nothing to do: EventBridge delivers an event at least once.`,
      },
    };
  }
}
