/**
 * The Hadoop Streaming tutorial's Python word count, as a Streaming job: the reducer is also
 * the combiner (it sums counts, so it may run any number of times map-side). Program paths are
 * relative to this file, wherever `streaming run` is started.
 */
import { defineJob } from 'streaming';

export default defineJob({
  name: 'wordcount-python',
  mapper: 'python3 mapper.py',
  combiner: 'python3 reducer.py',
  reducer: 'python3 reducer.py',
  reducers: 4,
});
