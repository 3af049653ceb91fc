/**
 * Every error Streaming raises on purpose. Callers branch on the class (or on `name`, which is
 * what the state machine's Retry/Catch match), never on message text. Each message says what
 * to do next.
 */
export class StreamingError extends Error {
  /**
   * Whether a retry of the same task can succeed, per class: the one place retryability is
   * decided. The state machine never retries a class whose `retryable` is false
   * (NON_RETRYABLE_ERRORS below is derived from it).
   */
  static readonly retryable: boolean = true;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
  get retryable(): boolean {
    return (this.constructor as typeof StreamingError).retryable;
  }
}

/** The job module or its options are wrong; retrying cannot help. */
export class InvalidJobError extends StreamingError {
  static override readonly retryable = false;
}

/** An input path, prefix or glob matched nothing. */
export class InputNotFoundError extends StreamingError {
  static override readonly retryable = false;
  constructor(readonly uri: string) {
    super(`Input not found: ${uri}. Check the path (or the bucket and prefix) and that it holds at least one file.`);
  }
}

/** A side input is neither a file nor the output of a completed job. */
export class SideInputNotFoundError extends StreamingError {
  static override readonly retryable = false;
  constructor(readonly uri: string) {
    super(
      `Side input not found: ${uri}. Give a file, or the output location of a completed job (one holding _SUCCESS).`,
    );
  }
}

/** The output location already holds a completed job. */
export class OutputExistsError extends StreamingError {
  static override readonly retryable = false;
  constructor(readonly uri: string) {
    super(`Output ${uri} already holds a completed job (_SUCCESS). Choose another output or pass --overwrite.`);
  }
}

/** What a run's claim on its output (`_CLAIM`) says of the run holding it. */
export interface ClaimHolder {
  jobId: string;
  /** The Step Functions execution running it, when known. */
  execution?: string;
  claimed: string;
  renewed: string;
  leaseSeconds: number;
  /** A local process (host and pid), or a Lambda function. */
  holder: { host: string; pid: number } | { lambda: string };
}

function describeHolder(c: ClaimHolder): { where: string; how: string } {
  if ('pid' in c.holder)
    return {
      where: `process ${c.holder.pid} on ${c.holder.host}, since ${c.claimed}`,
      how: `press Ctrl-C in its terminal or \`kill ${c.holder.pid}\``,
    };
  const exec = c.execution ?? '(its execution is named after the run id when started by startJob or streaming start)';
  return {
    where: `execution ${exec}, since ${c.claimed}, last renewed ${c.renewed}`,
    how: c.execution ? `\`streaming cancel ${c.execution}\`` : `\`streaming cancel <execution ARN>\``,
  };
}

/**
 * The output belongs to another run that is still running (its claim, `_CLAIM`, is live). Two
 * runs never write one output; `--overwrite` replaces a completed output, never a running one.
 */
export class OutputClaimedError extends StreamingError {
  static override readonly retryable = false;
  constructor(
    readonly uri: string,
    readonly claim: ClaimHolder,
  ) {
    const { where, how } = describeHolder(claim);
    super(
      `Output ${uri} is being written by run ${claim.jobId} (${where}). Wait for it to finish, or cancel it (${how}), ` +
        'then start again; or choose another output. --overwrite replaces a completed output, never one a run is writing. ' +
        `A run that died leaves a claim that is taken over: at once when its local process has exited, ${claim.leaseSeconds / 60} min after its last renewal otherwise.`,
    );
  }
}

/** A run no longer holds its output: its claim lapsed and another run took the output over. Nothing was published. */
export class ClaimLostError extends StreamingError {
  static override readonly retryable = false;
  constructor(
    readonly uri: string,
    readonly jobId: string,
    readonly claim: ClaimHolder | undefined,
  ) {
    super(
      `Run ${jobId} no longer holds its output ${uri}: ${claim ? `run ${claim.jobId} holds it now` : 'its claim is gone'} ` +
        '(a claim not renewed in time is taken over as a dead run’s). Nothing of this run was published; start it again.',
    );
  }
}

/** An object that should exist does not (e.g. an index read by the shuffle plan). */
export class ObjectNotFoundError extends StreamingError {
  constructor(readonly uri: string) {
    super(`Object not found: ${uri}`);
  }
}

/** An intermediate range did not match the checksum its map task published. */
export class ChecksumMismatchError extends StreamingError {
  constructor(
    readonly uri: string,
    readonly offset: number,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      `Checksum mismatch in ${uri} at offset ${offset}: expected crc32c ${expected}, got ${actual}. ` +
        'The intermediate data is corrupt; the task is retried and the job fails if it stays corrupt.',
    );
  }
}

/** The user's map, combine or reduce threw. Carries the user's message and stack. */
export class UserCodeError extends StreamingError {
  constructor(
    readonly phase: string,
    readonly task: number,
    cause: unknown,
  ) {
    const c = cause instanceof Error ? cause : new Error(String(cause));
    super(`${phase} task ${task}: ${c.message}`, { cause: c });
    if (c.stack) this.stack = `${this.name}: ${this.message}\nCaused by: ${c.stack}`;
  }
}

/** A stream program (mapper, combiner or reducer command) exited non-zero; carries the end of its stderr. */
export class StreamProgramError extends StreamingError {
  constructor(
    readonly command: string,
    readonly exitCode: number,
    readonly stderrTail: string,
    /** Which task ran it, e.g. "map task 3". */
    readonly where = '',
  ) {
    super(
      `Stream program \`${command}\`${where ? ` (${where})` : ''} exited with code ${exitCode}. End of its stderr:\n${stderrTail.trimEnd() || '(empty)'}`,
    );
  }
}

/** A stream program went longer than the task timeout without progress and was killed; the attempt is retried. */
export class TaskTimeoutError extends StreamingError {
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
    readonly where: string,
  ) {
    super(
      `Stream program \`${command}\` (${where}) was killed after ${timeoutMs / 1000} s without progress ` +
        `(mapreduce.task.timeout=${timeoutMs}): it read no input, wrote no output and reported nothing on stderr in that time. ` +
        'Raise mapreduce.task.timeout (0 turns it off), or have the program report progress with reporter:status:<message> lines on stderr.',
    );
  }
}

/** A stream program printed a line its protocol cannot read (jsonl: not a {"key":…,"value":…} object). */
export class ProgramOutputError extends StreamingError {
  static override readonly retryable = false;
  constructor(
    readonly command: string,
    readonly line: string,
    detail: string,
  ) {
    super(`Stream program \`${command}\` printed ${JSON.stringify(line.slice(0, 200))}: ${detail}.`);
  }
}

/** An input is compressed with a codec Streaming cannot read; it is never read as raw bytes. */
export class UnsupportedCompressionError extends StreamingError {
  static override readonly retryable = false;
  constructor(
    readonly uri: string,
    readonly codec: string,
    how: string,
    advice = 'Decompress it, or recompress it with gzip and name it .gz.',
  ) {
    super(
      `Input ${uri} is ${codec}-compressed (${how}); Streaming reads plain text, and gzip from objects named .gz. ${advice}`,
    );
  }
}

/** One record (a line) is larger than a JavaScript string can hold. */
export class RecordTooLargeError extends StreamingError {
  static override readonly retryable = false;
  constructor(
    readonly uri: string,
    readonly offset: number,
    readonly limit: number,
  ) {
    super(
      `The record starting at byte ${offset} of ${uri} is longer than ${limit} bytes, the most a JavaScript string holds. ` +
        'Records are lines: check the input has line breaks (or is in the format the job declares).',
    );
  }
}

/** A record could not be decoded in the declared input format. */
export class MalformedRecordError extends StreamingError {
  static override readonly retryable = false;
  constructor(
    readonly uri: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`Malformed record in ${uri} near byte ${offset}: ${detail}. Fix the input or declare another input format.`);
  }
}

/**
 * A map task's split needs longer than its function may run: a retry would take as long. Lower
 * splitSize (or give the function more memory, which brings more CPU).
 */
export class SplitTooLargeError extends StreamingError {
  static override readonly retryable = false;
}

/**
 * A reduce task's partition cannot fit its function: its /tmp, or the time it may run. A retry
 * cannot help; more reducers (smaller partitions) or a larger function can.
 */
export class PartitionTooLargeError extends StreamingError {
  static override readonly retryable = false;
}

/** The job ran and failed; `cause` is what the Abort state recorded in `_FAILED`. */
export class JobFailedError extends StreamingError {
  constructor(
    message: string,
    readonly errorType: string,
    readonly output: string,
    readonly causeStack?: string,
    /** Whether Abort wrote `_FAILED` (it does not over an output another run holds or completed). */
    readonly markedFailed = false,
  ) {
    super(message);
  }
}

/** The job was cancelled before it completed. */
export class JobCancelledError extends StreamingError {}

/** A worker thread died while running a task (crash, out of memory, process.exit in user code). */
export class WorkerDiedError extends StreamingError {}

/**
 * The failure as AWS Lambda reports it and as Step Functions puts it into `Cause`: a JSON
 * string with errorType, errorMessage and stack. The local engine uses the same shape, so
 * Abort parses one format wherever it runs.
 */
export interface ErrorCause {
  errorType: string;
  errorMessage: string;
  stackTrace?: string[];
  retryable?: boolean;
}

export function toErrorCause(err: unknown): ErrorCause {
  const e = err instanceof Error ? err : new Error(String(err));
  const cause: ErrorCause = { errorType: e.name, errorMessage: e.message };
  if (e.stack) cause.stackTrace = e.stack.split('\n');
  if (e instanceof StreamingError) cause.retryable = e.retryable;
  return cause;
}

/** Every error class of this module, for what is derived from their static properties. */
const ERROR_CLASSES: readonly { readonly name: string; readonly retryable: boolean }[] = [
  StreamingError,
  InvalidJobError,
  InputNotFoundError,
  OutputExistsError,
  OutputClaimedError,
  ClaimLostError,
  SideInputNotFoundError,
  ObjectNotFoundError,
  ChecksumMismatchError,
  UserCodeError,
  StreamProgramError,
  TaskTimeoutError,
  ProgramOutputError,
  UnsupportedCompressionError,
  RecordTooLargeError,
  MalformedRecordError,
  SplitTooLargeError,
  PartitionTooLargeError,
  JobFailedError,
  JobCancelledError,
  WorkerDiedError,
];

/** Errors no retry can fix (the classes whose `retryable` is false); the state machine's first Retry rule gives them zero attempts. */
export const NON_RETRYABLE_ERRORS: readonly string[] = ERROR_CLASSES.filter((c) => !c.retryable).map((c) => c.name);
