/** Resolved at bundle time to the user's job module (see index.ts). */
declare module 'streaming-job' {
  import type { AnyJob } from '../job.js';

  const job: AnyJob;
  export default job;
}
