/**
 * The local interpreter (aws-local-stepfunctions 3.x) runs a DISTRIBUTED Map as an inline one
 * and ignores ItemReader, ItemBatcher, ResultWriter and ToleratedFailure*. This rewrite, used
 * only for local execution, bridges that gap and nothing else:
 *
 *   "<Map>" (Map, ItemReader)  ──►  "<Map>" (Task: read the items ItemReader names, into $.__items)
 *                                     └─► "<Map> (items)" (the same Map, INLINE, ItemsPath $.__items)
 *
 * The item-reading Task takes the Map's name, so every transition into the Map still lands on
 * it, and copies the Map's Catch, so a missing manifest aborts the job as in the cloud. The
 * Map keeps its ItemSelector and its ItemProcessor states, with their own Retry and Catch.
 */
import type { State, StateMachineDefinition } from '../../infra/definition.js';

export const READ_ITEMS_RESOURCE = 'arn:aws:lambda:local:000000000000:function:streaming-read-items';
export const ITEMS_PATH = '$.__items';

export interface BridgeOptions {
  /** Iterations in flight per Map (the worker pool queues the rest). */
  concurrency: number;
}

/** Returns a copy of `definition` whose Distributed Maps the local interpreter can run. */
export function bridgeDistributedMaps(
  definition: StateMachineDefinition,
  options: BridgeOptions,
): StateMachineDefinition {
  const out: StateMachineDefinition = structuredClone(definition);
  for (const [name, state] of Object.entries(definition.States)) {
    if (state.Type !== 'Map' || state.ItemProcessor?.ProcessorConfig?.Mode !== 'DISTRIBUTED') continue;
    const iterate = `${name} (items)`;
    const { ItemReader, ItemBatcher, ResultWriter, ToleratedFailurePercentage, ToleratedFailureCount, Label, ...map } =
      structuredClone(state) as State;
    if (!ItemReader) throw new Error(`Distributed Map "${name}" has no ItemReader: nothing to bridge.`);
    if (ItemBatcher)
      throw new Error(`Distributed Map "${name}" uses ItemBatcher, which the local bridge does not support.`);
    const reader: State = {
      Type: 'Task',
      Resource: READ_ITEMS_RESOURCE,
      Parameters: ItemReader.Parameters,
      ResultPath: ITEMS_PATH,
      Next: iterate,
    };
    if (map.Catch) reader.Catch = map.Catch;
    out.States[name] = reader;
    out.States[iterate] = {
      ...map,
      ItemsPath: ITEMS_PATH,
      ItemProcessor: { ...map.ItemProcessor, ProcessorConfig: { Mode: 'INLINE' } },
      MaxConcurrency: options.concurrency,
    };
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
