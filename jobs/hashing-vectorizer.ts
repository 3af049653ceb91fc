/**
 * Hashed term-frequency vectors with scikit-learn `HashingVectorizer`'s semantics: the tokens of
 * `tokens()` (lower-cased, runs of 2+ letters, digits or `_`); each token counts in column
 * |h| mod nFeatures, where h is the signed 32-bit MurmurHash3 (seed 0) of its UTF-8 bytes;
 * with alternateSign its count is negated when h < 0; then each row is scaled to unit L2 norm
 * (norm=l2) or left as counts (norm=none). Map-only: one output line per document.
 *
 * Parameters: nFeatures (default 1048576 = 2^20), alternateSign (true|false, default true),
 * norm (l2|none, default l2).
 * Input: JSON lines {"id": <string or number>, "text": "…"}.
 * Output (jsonl): {"key": <id>, "value": {"<column>": <value>, …}} with columns ascending;
 * columns whose signed counts cancel to 0 are left out.
 *
 *   streaming run jobs/hashing-vectorizer.ts --input docs.jsonl --output hashed/ --param nFeatures=1024
 */
import { defineJob, hashedFeature, InvalidJobError, l2Normalize, tokens } from 'streaming';
import { boolParam, documentOf, intParam } from './lib/documents.js';

export default defineJob({
  name: 'hashing-vectorizer',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const doc = documentOf(record, ctx);
    const nFeatures = intParam(ctx, 'nFeatures', 2 ** 20);
    const alternateSign = boolParam(ctx, 'alternateSign', true);
    const norm = ctx.params.norm ?? 'l2';
    if (norm !== 'l2' && norm !== 'none') throw new InvalidJobError(`--param norm must be l2 or none (got "${norm}").`);
    const row = new Map<number, number>();
    for (const t of tokens(doc.text)) {
      const { index, sign } = hashedFeature(t, nFeatures);
      row.set(index, (row.get(index) ?? 0) + (alternateSign ? sign : 1));
    }
    for (const [k, v] of row) if (v === 0) row.delete(k);
    if (norm === 'l2') l2Normalize(row);
    // Integer-like keys of an object are ordered ascending: the columns come out sorted.
    const out: Record<number, number> = {};
    for (const [k, v] of row) out[k] = v;
    emit(doc.id, out);
  },
  reducers: 0,
  output: { format: 'jsonl' },
});
