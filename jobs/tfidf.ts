/**
 * TF-IDF in one run (scikit-learn `TfidfVectorizer.fit_transform`): fits the model on the
 * documents (jobs/tfidf-fit.ts, with all its params) and applies it (jobs/tfidf-transform.ts) —
 * to the same documents, or with `--param apply=<location>[,<location>…]` to those documents
 * instead (fit on train/, vectors of test/, in one pipeline; unseen terms ignored).
 *
 * Three steps: tfidf-counts and tfidf-vocabulary (the model, in scratch), then tfidf-transform,
 * map-only over the documents again with the model as a side input. No posting list is
 * shuffled: the vocabulary (a few dozen bytes per term) must fit in a map task's memory.
 * To keep the model, run jobs/tfidf-fit.ts and jobs/tfidf-transform.ts instead.
 *
 * Input: JSON lines {"id": <string or number, unique>, "text": "…"} (and "label", carried).
 * Output: feature vectors, one per document in input order (jobs/lib/vectors.ts):
 *   {"key": <id>, "value": {"label": …, "size": |V|, "indices": [i, …], "values": [w, …]}}
 *
 *   streaming run jobs/tfidf.ts --input docs.jsonl --output vectors/
 *   streaming run jobs/tfidf.ts --input train.jsonl --param apply=test.jsonl --output test-vectors/
 */
import { definePipeline } from 'streaming';
import { termCounts, vocabulary } from './tfidf-fit.js';
import { tfidfTransform } from './tfidf-transform.js';

export default definePipeline({
  name: 'tfidf',
  steps: [termCounts, vocabulary, tfidfTransform('previous', { from: { param: 'apply' } })],
});
