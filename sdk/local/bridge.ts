/**
 * The local interpreter (aws-local-stepfunctions 3.x) runs a DISTRIBUTED Map as an inline one
 * and ignores ItemReader, ItemBatcher, ResultWriter and ToleratedFailure*. This rewrite, used
 * only for local execution, bridges that gap and nothing else:
 *
 *   "<Map>" (Map, ItemReader)  ──►  "<Map>"           Task: read the items ItemReader names, into $.__items
 *                                     └► "<Map> (items)"   the same Map, INLINE, over $.__items, results into $.__results
 *                                         └► "<Map> (results)" Task: the Map's result as Step Functions makes it
 *                                                           (written to S3 when the Map has a ResultWriter), placed
 *                                                           by the Map's own ResultPath / OutputPath, bridge fields gone
 *
 * The first Task takes the Map's name, so every transition into the Map still lands on it; the
 * Map's Catch is on every part, so a missing manifest or a failed child aborts the job as in
 * the cloud. The inline Map keeps the ItemSelector and the ItemProcessor states, with their own
 * Retry and Catch. With `childFailures: 'aws'` a child that fails is caught into `$.__failure`
 * and the results Task fails the Map as Step Functions does (States.ExceedToleratedFailureThreshold,
 * the child's error not in it); otherwise the child's own error fails the Map.
 */
import type { State, StateMachineDefinition } from '../../infra/definition.js';

export const READ_ITEMS_RESOURCE = 'arn:aws:lambda:local:000000000000:function:streaming-read-items';
export const MAP_RESULTS_RESOURCE = 'arn:aws:lambda:local:000000000000:function:streaming-map-results';
export const ITEMS_PATH = '$.__items';
export const RESULTS_PATH = '$.__results';
export const FAILURE_PATH = '$.__failure';
/** The fields the bridge adds to a Map's input; none leaves the bridged Map. */
export const BRIDGE_FIELDS = ['__items', '__results', '__failure'] as const;

export interface BridgeOptions {
  /** Iterations in flight per Map (the worker pool queues the rest). */
  concurrency: number;
  /**
   * How a child that fails (after its retries) fails its Distributed Map: `aws`, as Step
   * Functions reports it (States.ExceedToleratedFailureThreshold, the child's error only in its
   * own execution); `child`, with the child's own error. @default 'child'
   */
  childFailures?: 'aws' | 'child';
}

/** What the results Task of a bridged Map gets (its Parameters). */
export interface MapResultsInput {
  /** The Map's name in the definition. */
  map: string;
  /** The whole state: the Map's input plus the bridge's fields. */
  state: Record<string, unknown>;
  /** The ResultWriter's Parameters, paths resolved (`{Bucket, Prefix}`), or null. */
  writer: { Bucket: string; Prefix?: string } | null;
  /** The Map's ResultPath and OutputPath (undefined: the default, `$`). */
  resultPath?: string | null;
  outputPath?: string | null;
}

/** The names of a bridged Map's three states. */
export const bridgedNames = (map: string) => ({ reader: map, items: `${map} (items)`, results: `${map} (results)` });

/** Returns a copy of `definition` whose Distributed Maps the local interpreter can run. */
export function bridgeDistributedMaps(
  definition: StateMachineDefinition,
  options: BridgeOptions,
): StateMachineDefinition {
  // A JSON copy, not structuredClone: the interpreter recognises nested templates as plain objects
  // of its own realm (under jest's module sandbox structuredClone makes them in another).
  const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));
  const out: StateMachineDefinition = clone(definition);
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Map' || state.ItemProcessor?.ProcessorConfig?.Mode !== 'DISTRIBUTED') continue;
    const names = bridgedNames(name);
    const {
      ItemReader,
      ItemBatcher,
      ResultWriter,
      ResultSelector,
      ResultPath,
      OutputPath,
      ToleratedFailurePercentage,
      ToleratedFailureCount,
      Label,
      Next,
      End,
      Catch,
      ...map
    } = clone(state) as State;
    if (!ItemReader) throw new Error(`Distributed Map "${name}" has no ItemReader: nothing to bridge.`);
    for (const [field, value] of [
      ['ItemBatcher', ItemBatcher],
      ['ResultSelector', ResultSelector],
      ['ToleratedFailurePercentage', ToleratedFailurePercentage],
      ['ToleratedFailureCount', ToleratedFailureCount],
      ['ResultWriter.WriterConfig', ResultWriter?.WriterConfig],
    ] as const)
      if (value !== undefined)
        throw new Error(`Distributed Map "${name}" uses ${field}, which the local bridge does not support.`);
    const withCatch = (s: State): State => (Catch ? { ...s, Catch } : s);
    out.States[names.reader] = withCatch({
      Type: 'Task',
      Resource: READ_ITEMS_RESOURCE,
      Parameters: ItemReader.Parameters,
      ResultPath: ITEMS_PATH,
      Next: names.items,
    });
    const childCatch =
      options.childFailures === 'aws'
        ? { Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: FAILURE_PATH, Next: names.results }] }
        : Catch
          ? { Catch }
          : {};
    out.States[names.items] = {
      ...map,
      ItemsPath: ITEMS_PATH,
      ItemProcessor: { ...map.ItemProcessor, ProcessorConfig: { Mode: 'INLINE' } },
      MaxConcurrency: options.concurrency,
      ResultPath: RESULTS_PATH,
      ...childCatch,
      Next: names.results,
    };
    out.States[names.results] = withCatch({
      Type: 'Task',
      Resource: MAP_RESULTS_RESOURCE,
      Parameters: {
        map: name,
        'state.$': '$',
        writer: ResultWriter?.Parameters ?? null,
        ...(ResultPath !== undefined ? { resultPath: ResultPath } : {}),
        ...(OutputPath !== undefined ? { outputPath: OutputPath } : {}),
      },
      ...(End ? { End } : { Next }),
    });
  }
  return out;
}

/** Every Task state, nested ones included: name → resource. */
export function taskStates(definition: { States: Record<string, State> }): Map<string, string> {
  const found = new Map<string, string>();
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type === 'Task') found.set(name, state.Resource as string);
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) for (const [n, r] of taskStates(inner)) found.set(n, r);
    for (const branch of state.Branches ?? []) for (const [n, r] of taskStates(branch)) found.set(n, r);
  }
  return found;
}

/** The states inside the bridged (formerly Distributed) Maps' item processors: each runs as a child execution on AWS. */
export function childStates(definition: StateMachineDefinition): Set<string> {
  const out = new Set<string>();
  for (const state of Object.values(definition.States))
    if (state.Type === 'Map' && state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED')
      for (const n of taskStates(state.ItemProcessor).keys()) out.add(n);
  return out;
}
