/** The local bridge's item reader and result writer (bridge.ts): what a Distributed Map's ItemReader reads and ResultWriter writes in the cloud. */
import type { StorageRouter } from '../../functions/storage/index.js';
import { fromItemLocation, type ItemLocation } from '../../functions/storage/uri.js';

/** Reads the items an ItemReader names (`{Bucket, Key}`): the JSON array of a map or reducer manifest. */
export async function readItems(storage: StorageRouter, location: ItemLocation): Promise<unknown> {
  return storage.readJson(fromItemLocation(location));
}

/** Writes an object a ResultWriter names (`{Bucket, Key}`). */
export async function writeObject(storage: StorageRouter, location: ItemLocation, body: string): Promise<void> {
  const uri = fromItemLocation(location);
  await storage.for(uri).write(uri, body);
}
