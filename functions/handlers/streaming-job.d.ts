/**
 * Resolved at bundle time to the user's module (see index.ts): a job module (its default export
 * is defineJob(...) or definePipeline(...)) or a module of executor functions.
 */
declare module 'streaming-job' {
  const exports: Record<string, unknown>;
  export = exports;
}
