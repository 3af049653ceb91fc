/** A map-only stream job that reports Hadoop counters and status lines on stderr. */
import { defineJob } from 'streaming';

export default defineJob({
  name: 'weather-counts',
  mapper: 'python3 weather_counts.py',
  reducers: 0,
});
