/**
 * The max-temperature job of max-temperature.ts as a TypeScript job, with mrjob's conveniences
 * typed: per-task setup, a composite key partitioned on its first part, keys in an order of
 * the job's, each group's values hottest first (secondary sort), a grouped counter.
 */
import { defineJob } from 'streaming';

type Key = [year: number, place: string];

export default defineJob({
  name: 'max-temperature-ts',
  input: { format: 'csv' },
  setup(ctx) {
    ctx.status(`${ctx.task.phase} task ${ctx.task.index} started`);
  },
  map(row: Record<string, string>, emit) {
    if (row.temp_max !== '') emit([Number(row.date!.slice(0, 4)), row.location!] as Key, Number(row.temp_max));
  },
  partitionBy: ([year]: Key) => year,
  compareKeys: (a: Key, b: Key) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0),
  compareValues: (a: number, b: number) => b - a,
  reduce([year, place]: Key, temps: Iterable<number>, emit, ctx) {
    for (const t of temps) {
      emit(`${year} ${place}`, t);
      break;
    }
    ctx.incrementCounter('Weather', 'station-years');
  },
  reducers: 2,
});
