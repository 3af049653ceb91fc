/** Resolved at bundle time to the user's job module (see index.ts). */
declare module 'streaming-job' {
  import type { JobModule } from '../job.js';

  const job: JobModule;
  export default job;
}
