import { DEFAULTS } from '../config.js';
import { ObjectNotFoundError } from '../errors.js';
import { layout, type RunContext } from '../spec.js';
import { type ItemLocation, toItemLocation } from '../storage/uri.js';
import { mapLimit, type TaskEnv } from './env.js';
import type { MapIndex } from './map.js';

/** A range of one map task's data object that a reducer fetches. */
export interface FetchRange {
  uri: string;
  offset: number;
  length: number;
  records: number;
  crc32c: number;
  /** The map task that wrote it: merge order, so value order is deterministic. */
  task: number;
}

export interface ReduceManifest {
  partition: number;
  ranges: FetchRange[];
}

/** One item of the reduce Distributed Map. */
export interface ReducerItem {
  partition: number;
  manifest: string;
}

export interface ShuffleResult {
  reducers: ItemLocation;
  partitions: number;
}

/** Reads the map tasks' published indexes (all of them must exist). */
export async function readMapIndexes(env: TaskEnv, run: RunContext, mapTasks: number): Promise<MapIndex[]> {
  const tasks = Array.from({ length: mapTasks }, (_, i) => i);
  return mapLimit(tasks, DEFAULTS.metadataConcurrency, async (t) => {
    const uri = layout.mapIndex(run, t);
    try {
      return await env.storage.readJson<MapIndex>(uri);
    } catch (e) {
      if (e instanceof ObjectNotFoundError) throw new ObjectNotFoundError(`${uri} (map task ${t} published no index)`);
      throw e;
    }
  });
}

/**
 * Shuffle plan (DESIGN §2): from the M indexes, one manifest per reducer listing the non-empty
 * ranges it must fetch (R manifests, never M×R objects), and the list of reducers for the
 * reduce Distributed Map.
 */
export async function shufflePlan(env: TaskEnv, run: RunContext, mapTasks: number): Promise<ShuffleResult> {
  const indexes = await readMapIndexes(env, run, mapTasks);
  const R = run.reducers;
  const manifests: ReduceManifest[] = Array.from({ length: R }, (_, partition) => ({ partition, ranges: [] }));
  for (const ix of indexes) {
    if (!ix.data || !ix.runs) continue;
    ix.runs.forEach(([offset, length, records, crc32c], r) => {
      if (length > 0) manifests[r]!.ranges.push({ uri: ix.data!, offset, length, records, crc32c, task: ix.task });
    });
  }
  const storage = env.storage.for(run.scratch);
  const items: ReducerItem[] = await mapLimit(manifests, DEFAULTS.metadataConcurrency, async (m) => {
    const uri = layout.reduceManifest(run, m.partition);
    await storage.write(uri, JSON.stringify(m));
    return { partition: m.partition, manifest: uri };
  });
  await storage.write(layout.reducers(run), JSON.stringify(items));
  return { reducers: toItemLocation(layout.reducers(run)), partitions: R };
}
