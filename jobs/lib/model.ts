/**
 * Model files: what a fit job learns, written as its output and read back by the jobs that
 * apply it (`--param model=<location>`, a side input: a fit job's output location or one file).
 * JSON lines, like every job output:
 *   {"key": ["model"], "value": {"type": "<kind>", "version": 1, …}}   the header, exactly once
 *   {"key": ["<entry kind>", …], "value": …}                            the entries (per model kind)
 * docs/jobs-ml.md describes each kind.
 */
import { InvalidJobError, type TaskContext } from 'streaming';

export const MODEL_VERSION = 1;
export const HEADER_KEY = ['model'] as const;

export interface ModelHeader {
  type: string;
  version: number;
  [k: string]: unknown;
}

export interface ModelRecord {
  key: unknown[];
  value: unknown;
}

/** The header record of a model of `type`. */
export const headerOf = (type: string, fields: Record<string, unknown>) => ({
  type,
  version: MODEL_VERSION,
  ...fields,
});

/** Parsed models this worker holds, by location: re-parsed only when the side input's text changes. */
const parsed = new Map<string, { text: string; model: unknown }>();

/**
 * The model at `--param <param>` (default `model`), parsed by `build` from its header and
 * entries, once per worker and model text. A location that holds no model, or another kind of
 * model than `types`, is an InvalidJobError naming what was found.
 */
export async function loadModel<M>(
  ctx: TaskContext,
  types: readonly string[],
  build: (header: ModelHeader, entries: ModelRecord[], where: string) => M,
  uri = ctx.params.model,
): Promise<M> {
  if (!uri)
    throw new InvalidJobError(
      `Give the model: --param model=<output location of a fit job (${types.join(' or ')} model)>.`,
    );
  const text = await ctx.sideInput(uri);
  const hit = parsed.get(uri);
  if (hit && hit.text === text) return hit.model as M;
  const { header, entries } = parseModel(text, uri);
  if (!types.includes(header.type))
    throw new InvalidJobError(`${uri} holds a ${header.type} model; this job applies a ${types.join(' or ')} model.`);
  const model = build(header, entries, uri);
  if (parsed.size >= 8) parsed.clear(); // a long-lived container that applied many models keeps the latest
  parsed.set(uri, { text, model });
  return model;
}

/** A model file's header and entries. */
export function parseModel(text: string, where: string): { header: ModelHeader; entries: ModelRecord[] } {
  let header: ModelHeader | undefined;
  const entries: ModelRecord[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    if (end > start) {
      let record: ModelRecord;
      try {
        record = JSON.parse(text.slice(start, end)) as ModelRecord;
      } catch {
        throw new InvalidJobError(`${where} is not a model file: a line is not JSON.`);
      }
      if (!Array.isArray(record?.key))
        throw new InvalidJobError(`${where} is not a model file: a record's key is not a list.`);
      if (record.key.length === 1 && record.key[0] === 'model') {
        if (header) throw new InvalidJobError(`${where} holds two model headers: give one model's location.`);
        header = record.value as ModelHeader;
      } else entries.push(record);
    }
    start = end + 1;
  }
  if (!header || typeof header.type !== 'string')
    throw new InvalidJobError(
      `${where} holds no model (no {"key": ["model"], …} header): give the output of a fit job.`,
    );
  if (header.version !== MODEL_VERSION)
    throw new InvalidJobError(
      `${where} is a version ${header.version} model; this Streaming reads version ${MODEL_VERSION}.`,
    );
  return { header, entries };
}
