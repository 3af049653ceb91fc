/** The local bridge's item reader (bridge.ts): what a Distributed Map's ItemReader reads in the cloud. */
import type { StorageRouter } from '../../functions/storage/index.js';
import { fromItemLocation, type ItemLocation } from '../../functions/storage/uri.js';

/** Reads the items an ItemReader names (`{Bucket, Key}`): the JSON array of a map or reducer manifest. */
export async function readItems(storage: StorageRouter, location: ItemLocation): Promise<unknown> {
  return storage.readJson(fromItemLocation(location));
}
