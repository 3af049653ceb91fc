/**
 * Hashed term-frequency vectors with scikit-learn `HashingVectorizer`'s semantics: the tokens of
 * `tokens()` (lower-cased, runs of 2+ letters, digits or `_`); each token counts in column
 * |h| mod nFeatures, where h is the signed 32-bit MurmurHash3 (seed 0) of its UTF-8 bytes;
 * with alternateSign its count is negated when h < 0; then each row is scaled to unit L2 norm
 * (norm=l2), L1 norm (l1) or left as counts (none). Stateless, so nothing to fit: map-only.
 *
 * Parameters: nFeatures (default 1048576 = 2^20), alternateSign (true|false, default true),
 * norm (l2|l1|none, default l2).
 * Input: JSON lines {"id": <string or number>, "text": "…"} (and "label", carried).
 * Output: feature vectors (jobs/lib/vectors.ts), one per document, columns ascending; columns
 * whose signed counts cancel to 0 are left out:
 *   {"key": <id>, "value": {"label": …, "size": nFeatures, "indices": [i, …], "values": [v, …]}}
 *
 *   streaming run jobs/hashing-vectorizer.ts --input docs.jsonl --output hashed/ --param nFeatures=1024
 */
import { defineJob, forEachToken, hashedFeature } from 'streaming';
import { boolParam, documentOf, intParam } from './lib/documents.js';
import { type Label, normalize, normParam, vectorValue } from './lib/vectors.js';

const row = new Map<number, number>();

export default defineJob({
  name: 'hashing-vectorizer',
  input: { format: 'jsonl' },
  map(record, emit, ctx) {
    const doc = documentOf(record, ctx);
    const nFeatures = intParam(ctx, 'nFeatures', 2 ** 20);
    const alternateSign = boolParam(ctx, 'alternateSign', true);
    const norm = normParam(ctx);
    row.clear();
    forEachToken(doc.text, (t) => {
      const { index, sign } = hashedFeature(t, nFeatures);
      row.set(index, (row.get(index) ?? 0) + (alternateSign ? sign : 1));
    });
    const indices = [...row.keys()].filter((k) => row.get(k) !== 0).sort((a, b) => a - b);
    const values = indices.map((k) => row.get(k)!);
    normalize(values, norm);
    const label = (record as { label?: Label | null }).label ?? undefined;
    emit(doc.id, vectorValue(label, nFeatures, indices, values));
  },
  reducers: 0,
  output: { format: 'jsonl' },
});
