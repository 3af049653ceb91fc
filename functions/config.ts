/**
 * Every tunable default, in one place. Options given to a run (CLI flags, `runLocal` options,
 * construct props) override these; the job module's own settings sit in between:
 * defaults < job module < deployment (StreamingJob props, as STREAMING_* on the functions) < options of the call.
 */
export const DEFAULTS = {
  /** Target bytes of input per map task. Small files are packed together up to this size. */
  splitSize: 64 * 1024 * 1024,
  /**
   * The smallest split made to spread work over workers: the size of the last splits when the
   * plan shrinks them toward the end (a known parallelism; plan.ts, shrinkingSplitSizes). A map
   * task costs tens of milliseconds beyond its bytes (sorting and writing its table, its
   * requests), so splits stay this large. An explicit smaller splitSize still wins.
   */
  minSplitSize: 4 * 1024 * 1024,
  /**
   * Most S3 objects packed into one split: each is a GET of tens of milliseconds, which a map
   * task waits on in turn. Local files cost microseconds each, so they are packed by bytes alone.
   */
  maxObjectsPerSplit: 1000,
  /**
   * A local folder of at least this many files is sized on two threads (storage/stat-names.ts):
   * below it, a second thread's start costs more than it saves.
   */
  parallelStatFiles: 50_000,
  /**
   * A local folder of at least this many files is sized on two threads where a running thread can
   * be lent (the local engine's idle workers while Plan lists): no start to pay for.
   */
  lentStatFiles: 4096,
  /**
   * Step Functions' quota on a state's or a task's input or output: bytes of UTF-8 JSON. A map
   * task's input is its split's item with the job's context (split-items.ts).
   */
  statePayloadBytes: 256 * 1024,
  /**
   * Most bytes of JSON a split's chunks take in its map manifest item; a split of more objects
   * names where Plan wrote them instead (split-items.ts): items stay far below the payload quota,
   * and cheap for the local interpreter, which copies them at every state.
   */
  inlineSplitBytes: 8 * 1024,
  /**
   * What a line costs a map function, in bytes of its text: Plan cuts a combiner job's splits at
   * equal estimated work, bytes + this × lines (work-estimate.ts). Measured on a user's word count
   * (bench/jobs/user-wordcount.ts, 1 worker): 33.5 MB of lines of at most 24 columns took 4.3 s,
   * the same bytes as 2,000-column lines 2.9 s: 0.82 µs more per line, 86 ns per byte.
   */
  recordCostBytes: 10,
  /** A file's last split may be up to this factor of splitSize, so no tiny tail split is made. */
  splitSlop: 1.1,
  /** Reduce partitions when neither the job nor the call sets them. */
  reducers: 4,
  /**
   * Bytes a reduce task takes: the shuffle plan packs consecutive partitions into one task up
   * to this (a larger partition is a task of its own), so many small partitions cost a few
   * Lambda invocations. Smaller when a known parallelism (local workers) would idle.
   */
  reduceTaskBytes: 64 * 1024 * 1024,
  /**
   * Most partitions one reduce task takes: each costs a few requests (its manifest, its part,
   * its result), ~0.1 s even when empty, so a task of tiny partitions stays within seconds.
   */
  partitionsPerReduceTask: 16,
  /** Bytes of map output buffered (or combined) in memory before a sorted spill to disk. */
  sortBufferBytes: 64 * 1024 * 1024,
  /** V8 heap limit of each local worker thread, in MiB; must hold the sort buffer with room to spare. */
  workerHeapMiB: 512,
  /** Input read size. */
  readChunkBytes: 4 * 1024 * 1024,
  /** Bytes read past a split's end per request while finishing its last line. */
  overreadBytes: 64 * 1024,
  /** Output write buffer before a flush to storage. */
  writeBufferBytes: 1024 * 1024,
  /** Concurrent range fetches of one reduce task. */
  fetchConcurrency: 8,
  /** Concurrent index reads of the shuffle plan and commit. */
  metadataConcurrency: 32,
  /**
   * Attempts of one S3 request (first try included), with the SDK's adaptive retry mode: each
   * client backs off exponentially with jitter on 503 SlowDown, 500s and dropped connections and
   * slows its own request rate while S3 throttles it. S3 answers SlowDown above ~3,500 writes or
   * 5,500 reads per second per prefix while it scales out: ten attempts ride that out, where
   * the SDK's default three would fail the task. AWS_MAX_ATTEMPTS and AWS_RETRY_MODE override.
   */
  s3MaxAttempts: 10,
  /** Attempts of a failing task (first try included) before the job fails. */
  taskAttempts: 3,
  /** First retry delay in seconds; doubles each attempt. */
  retryIntervalSeconds: 1,
  /** Longest run of one task attempt in the cloud (the Lambda maximum). */
  taskTimeoutSeconds: 900,
  /** Longest run of one task attempt on the local engine, where splits can be large and workers few. */
  localTaskTimeoutSeconds: 24 * 3600,
  /**
   * Concurrent tasks of one Distributed Map in the cloud. Well below an account's default Lambda
   * concurrency (1,000 per region, shared by every function, and lower on new accounts): two
   * jobs at once and the account's other functions still get to run (docs/deploying.md).
   */
  maxConcurrency: 200,
  /** Memory of the deployed functions in MiB: map and reduce get one full vCPU (1769), the control phases less. */
  memoryMiB: { map: 1769, reduce: 1769, control: 512 },
  /** `/tmp` of the deployed map and reduce functions in MiB (spills, fetched ranges). */
  ephemeralStorageMiB: 2048,
  /** Where a deployment's inputs, outputs and intermediate data live in its bucket. */
  prefixes: { input: 'input/', output: 'output/', scratch: 'scratch/' },
  /** Days before scratch objects left behind (a stopped job) expire, on a bucket the construct makes. */
  scratchExpirationDays: 7,
  /**
   * How long a run's claim on its output (`_CLAIM`) stays valid without renewal. Tasks renew it
   * as they start (after a third of it has passed); a claim not renewed for this long belongs to
   * a run that died and is taken over. Longer than any one task may run (15 min in the cloud).
   */
  claimLeaseSeconds: 30 * 60,
  /**
   * A stream program that reads no input, writes no output and reports nothing (stderr) for this
   * long is killed and its task attempt fails: Hadoop's `mapreduce.task.timeout` and its default.
   */
  streamTaskTimeoutMs: 600_000,
  /** Lines of a stream program's stderr (other than reporter lines) kept per task in the manifest. */
  stderrTailLines: 20,
  /** Keep the job's scratch data after it ends (for debugging). */
  keepScratch: false,
  /**
   * Job bundles kept in the local engine's cache (`<os tmpdir>/streaming-bundles`), keyed by
   * content; the least recently used go first. Each is ~4 MB (the job with the SDK, and the AWS
   * SDK's clients as chunks loaded only when a run uses S3).
   */
  bundleCacheEntries: 16,
} as const;

/** Parses "64MiB", "1.5 GB", "4096" into bytes. */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(text);
  if (!m) throw new Error(`Not a size: "${text}". Use a number of bytes or a unit, e.g. 64MiB, 512KB, 1GiB.`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase().replace(/b$/, '');
  const powers: Record<string, number> = {
    '': 1,
    k: 1e3,
    m: 1e6,
    g: 1e9,
    t: 1e12,
    ki: 2 ** 10,
    mi: 2 ** 20,
    gi: 2 ** 30,
    ti: 2 ** 40,
  };
  const factor = powers[unit];
  if (factor === undefined) throw new Error(`Unknown size unit in "${text}".`);
  return Math.round(n * factor);
}
