/**
 * Feature vectors (the output of tfidf, tfidf-transform, hashing-vectorizer,
 * preprocess-transform) as LIBSVM / svmlight text, which LIBSVM, LIBLINEAR, XGBoost, Spark's
 * `libsvm` data source and scikit-learn's `load_svmlight_file` read: a line per vector,
 *   <label> <index>:<value> <index>:<value> …
 * indices from 1 (a vector's index i is written i + 1), ascending, zeros left out; values in
 * JavaScript's shortest form that reads back as the same double. Map-only: line i of a part is
 * the vector of line i of its input.
 *
 * Parameters:
 *   classes       comma-separated labels, written as their position (0, 1, …): LIBSVM labels
 *                 are numbers. Without it, labels must be numbers (or text that is one).
 *   missingLabel  the number written for a vector without a label (default: such a vector
 *                 fails the job, naming this param)
 *   ids           true: each line ends with ` # <the vector's key as JSON>` (svmlight's
 *                 comment, which scikit-learn and svmlight skip; LIBSVM's own tools do not)
 *
 *   streaming run jobs/libsvm.ts --input out/test-vectors --output out/test-libsvm --param classes=ham,spam
 *   cat out/test-libsvm/part-* > test.libsvm   # then load_svmlight_file('test.libsvm', n_features=<size>)
 */
import { defineJob, InvalidJobError, type TaskContext } from 'streaming';
import { type Label, vectorOf } from './lib/vectors.js';

interface Settings {
  classes: Map<string, number> | undefined;
  missingLabel: string | undefined;
  ids: boolean;
}

/** The params read, for the task's run: `[the params' text, settings]`. */
let cached: [string, Settings] | undefined;

function settingsOf(ctx: TaskContext): Settings {
  const { classes, missingLabel, ids } = ctx.params;
  const key = `${classes} ${missingLabel} ${ids}`;
  if (cached?.[0] !== key) cached = [key, parseSettings(classes, missingLabel, ids)];
  return cached[1];
}

function parseSettings(
  classes: string | undefined,
  missingLabel: string | undefined,
  ids: string | undefined,
): Settings {
  if (ids !== undefined && ids !== 'true' && ids !== 'false')
    throw new InvalidJobError(`--param ids takes true or false (got "${ids}").`);
  if (missingLabel !== undefined && numberText(missingLabel) === undefined)
    throw new InvalidJobError(`--param missingLabel must be a number (got "${missingLabel}").`);
  let byClass: Map<string, number> | undefined;
  if (classes !== undefined) {
    const list = classes.split(',').map((c) => c.trim());
    byClass = new Map(list.map((c, i) => [c, i]));
    if (list.some((c) => c === '') || byClass.size !== list.length)
      throw new InvalidJobError(
        `--param classes takes distinct, non-empty labels separated by commas (got "${classes}").`,
      );
  }
  return {
    classes: byClass,
    missingLabel: missingLabel === undefined ? undefined : numberText(missingLabel),
    ids: ids === 'true',
  };
}

/** A number's text as LIBSVM writes it, or undefined when `s` is no finite number. */
function numberText(s: string): string | undefined {
  const n = Number(s);
  return s.trim() !== '' && Number.isFinite(n) ? String(n) : undefined;
}

function labelText(label: Label | undefined, s: Settings, ctx: TaskContext, id: unknown): string {
  if (label === undefined) {
    if (s.missingLabel !== undefined) return s.missingLabel;
    throw new InvalidJobError(
      `The vector ${JSON.stringify(id)} in ${ctx.inputUri} has no label, and LIBSVM needs one on every line: give --param missingLabel=<number> to write one.`,
    );
  }
  if (s.classes !== undefined) {
    const k = s.classes.get(String(label));
    if (k === undefined)
      throw new InvalidJobError(
        `The vector ${JSON.stringify(id)} in ${ctx.inputUri} has the label ${JSON.stringify(label)}, which --param classes does not list: add it.`,
      );
    return String(k);
  }
  const text = typeof label === 'number' ? numberText(String(label)) : numberText(label);
  if (text === undefined)
    throw new InvalidJobError(
      `The vector ${JSON.stringify(id)} in ${ctx.inputUri} has the label ${JSON.stringify(label)}, and LIBSVM labels are numbers: give --param classes=<label>,<label>,… (written as 0, 1, …).`,
    );
  return text;
}

export default defineJob({
  name: 'libsvm',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const s = settingsOf(ctx);
    const v = vectorOf(record, ctx);
    const parts = [labelText(v.label, s, ctx, v.id)];
    let last = -1;
    for (let i = 0; i < v.indices.length; i++) {
      const j = v.indices[i]!;
      const x = v.values[i]!;
      if (!(Number.isInteger(j) && j > last && j < v.size) || typeof x !== 'number')
        throw new InvalidJobError(
          `The vector ${JSON.stringify(v.id)} in ${ctx.inputUri} has ${typeof x !== 'number' ? `the value ${JSON.stringify(x)}` : `index ${j} after ${last}`} (size ${v.size}): indices must ascend from 0 below size, values be numbers.`,
        );
      last = j;
      if (x !== 0) parts.push(`${j + 1}:${x}`);
    }
    if (s.ids) parts.push(`# ${JSON.stringify(v.id ?? null)}`);
    emit(parts.join(' '), undefined);
  },
  reducers: 0,
  output: { format: 'text' },
});
