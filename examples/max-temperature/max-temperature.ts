/**
 * Max temperature per year with a secondary sort, as Hadoop Streaming does it: the mapper's
 * key is `year<TAB>temperature`; records are partitioned on the year and sorted on the year,
 * then the temperature descending and numerically, so each reducer reads a year's hottest day
 * first and never holds a year in memory.
 */
import { defineJob } from 'streaming';

export default defineJob({
  name: 'max-temperature',
  mapper: 'python3 max_temperature_map.py',
  reducer: 'python3 max_temperature_reduce.py',
  reducers: 2,
  jobconf: {
    'stream.num.map.output.key.fields': 2,
    'mapreduce.partition.keypartitioner.options': '-k1,1',
    'mapreduce.partition.keycomparator.options': '-k1,1 -k2,2nr',
  },
});
