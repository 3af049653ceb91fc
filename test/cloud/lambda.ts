/**
 * Lambda, emulated for the cloud harness: each function runs its BUNDLED handler (the asset
 * directory `cdk deploy` would upload) in execution environments that are child processes of
 * the test (test/cloud/lambda-runtime.mjs), reused while warm as Lambda reuses them.
 *
 * Why processes rather than worker threads: an execution environment is a process on Lambda,
 * and the things the product must survive there are process things — its own environment
 * variables and os.tmpdir(), `process.exit` or a crash ending the environment, a timeout or an
 * out-of-memory kill taking the whole sandbox down (a worker's `resourceLimits` caps only the V8
 * heap, and a worker shares the test's process, environment and memory). A process costs ~0.3 s
 * to start, which warm reuse pays once per environment.
 *
 * Each environment has: the function's environment from the template (tokens resolved by the
 * caller), the Lambda-set variables, and the S3 endpoint of its role's IAM front door; its own
 * /tmp (TMPDIR) of the configured ephemeral size; a V8 heap limit of the configured memory and a
 * kill when its resident memory passes it (Runtime.OutOfMemory); the configured timeout
 * (Sandbox.Timedout, the environment discarded). Errors come back as Lambda reports them.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNTIME = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lambda-runtime.mjs');
/** Lambda gives a function's initialisation at most 10 s. */
const INIT_TIMEOUT_MS = 10_000;
const PROC_STATUS = fs.existsSync('/proc/self/status');

export interface LambdaFunctionConfig {
  name: string;
  arn: string;
  assetDir: string;
  handler: string;
  /** The function's environment variables, resolved. */
  environment: Record<string, string>;
  memoryMiB: number;
  timeoutSeconds: number;
  /** /tmp size. */
  ephemeralBytes: number;
  /** Where its S3 client goes (its role's front door). */
  s3Endpoint: string;
  region: string;
}

/** Lambda's error document (what Step Functions puts in `Cause`). */
export interface LambdaError {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

export type Invocation = { ok: true; result: unknown } | { ok: false; error: LambdaError };

/** What the environments of a function did, for tests and the scale bench. */
export interface FunctionStats {
  invocations: number;
  coldStarts: number;
  /** Largest resident memory of an environment seen during an invocation, in bytes (Linux only). */
  maxRssBytes: number;
  /** Largest /tmp use measured after an invocation, in bytes. */
  maxTmpBytes: number;
}

interface Environment {
  child: ChildProcess;
  tmp: string;
  ready: Promise<LambdaError | undefined>;
  /** Set while an invocation runs: how it ends if the process dies. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
  dead: boolean;
}

export class EmulatedFunction {
  readonly stats: FunctionStats = { invocations: 0, coldStarts: 0, maxRssBytes: 0, maxTmpBytes: 0 };
  private readonly idle: Environment[] = [];
  private readonly all = new Set<Environment>();
  private closed = false;

  constructor(
    readonly config: LambdaFunctionConfig,
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Invokes the function synchronously (RequestResponse), as Step Functions does. */
  async invoke(event: unknown, requestId = randomUUID()): Promise<Invocation> {
    if (this.closed) throw new Error(`${this.config.name}: the emulated Lambda service is closed`);
    this.stats.invocations++;
    const env = this.idle.pop() ?? this.start();
    const initError = await env.ready;
    if (initError) {
      this.discard(env);
      return { ok: false, error: initError };
    }
    return this.run(env, event, requestId);
  }

  private start(): Environment {
    this.stats.coldStarts++;
    const c = this.config;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'streaming-lambda-tmp-'));
    const child = fork(RUNTIME, [], {
      cwd: c.assetDir,
      // Lambda's environment: only the function's variables and the ones Lambda sets.
      env: {
        ...c.environment,
        AWS_REGION: c.region,
        AWS_DEFAULT_REGION: c.region,
        AWS_LAMBDA_FUNCTION_NAME: c.name,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(c.memoryMiB),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${c.name}`,
        AWS_LAMBDA_LOG_STREAM_NAME: randomUUID(),
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs',
        LAMBDA_TASK_ROOT: c.assetDir,
        _HANDLER: c.handler,
        TZ: ':UTC',
        LANG: 'en_US.UTF-8',
        PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
        TMPDIR: tmp,
        // The test's S3 server and its credentials, through the role's IAM front door.
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_ENDPOINT_URL_S3: c.s3Endpoint,
        AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
        AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
        STREAMING_HARNESS_TMP_BYTES: String(c.ephemeralBytes),
      },
      execArgv: [`--max-old-space-size=${c.memoryMiB}`],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    const env: Environment = { child, tmp, ready: Promise.resolve(undefined), dead: false };
    this.all.add(env);
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (s: string) => {
        const lines = (rest + s).split('\n');
        rest = lines.pop()!;
        for (const l of lines) this.log(l);
      });
    }
    child.on('exit', (code, signal) => {
      env.dead = true;
      env.onExit?.(code, signal);
      this.discard(env);
    });
    env.ready = new Promise((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({
          errorType: 'Sandbox.Timedout',
          errorMessage: 'INIT_REPORT Init Duration: 10000 ms Phase: init Status: timeout',
        });
      }, INIT_TIMEOUT_MS);
      const ready = (m: { type?: string; error?: LambdaError }) => {
        if (m?.type !== 'ready') return;
        clearTimeout(timer);
        child.off('message', ready);
        resolve(m.error);
      };
      child.on('message', ready);
      env.onExit = (code, signal) => {
        clearTimeout(timer);
        resolve(exitError('init', code, signal));
      };
    });
    return env;
  }

  private run(env: Environment, event: unknown, requestId: string): Promise<Invocation> {
    const c = this.config;
    const timeoutMs = c.timeoutSeconds * 1000;
    this.hold(env, true);
    return new Promise<Invocation>((resolve) => {
      let outOfMemory = false;
      const finish = (outcome: Invocation, keep: boolean) => {
        clearTimeout(timer);
        clearInterval(watch);
        env.child.off('message', done);
        env.onExit = undefined;
        const used = dirBytes(env.tmp);
        this.stats.maxTmpBytes = Math.max(this.stats.maxTmpBytes, used);
        // What the process's own writes could not pass (a child program's could): measured afterwards.
        if (outcome.ok && used > c.ephemeralBytes)
          outcome = {
            ok: false,
            error: {
              errorType: 'Error',
              errorMessage: `ENOSPC: no space left on device (/tmp holds ${used} bytes of ${c.ephemeralBytes})`,
            },
          };
        if (keep && !env.dead && !this.closed) {
          this.hold(env, false);
          this.idle.push(env);
        } else this.discard(env);
        resolve(outcome);
      };
      const timer = setTimeout(() => {
        env.onExit = undefined;
        env.child.kill('SIGKILL');
        finish(
          {
            ok: false,
            error: {
              errorType: 'Sandbox.Timedout',
              errorMessage: `RequestId: ${requestId} Error: Task timed out after ${c.timeoutSeconds.toFixed(2)} seconds`,
            },
          },
          false,
        );
      }, timeoutMs);
      const watch = setInterval(() => {
        const rss = residentBytes(env.child.pid);
        this.stats.maxRssBytes = Math.max(this.stats.maxRssBytes, rss);
        if (rss > c.memoryMiB * 2 ** 20) {
          outOfMemory = true;
          env.child.kill('SIGKILL');
        }
      }, 50);
      const done = (m: { type?: string; id?: string; result?: unknown; error?: LambdaError }) => {
        if (m?.type !== 'done' || m.id !== requestId) return;
        finish(m.error ? { ok: false, error: m.error } : { ok: true, result: m.result }, true);
      };
      env.child.on('message', done);
      env.onExit = (code, signal) =>
        finish(
          {
            ok: false,
            error: outOfMemory
              ? {
                  errorType: 'Runtime.OutOfMemory',
                  errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`,
                }
              : exitError(requestId, code, signal),
          },
          false,
        );
      env.child.send({
        type: 'invoke',
        id: requestId,
        requestId,
        event,
        functionArn: c.arn,
        deadline: Date.now() + timeoutMs,
      });
    });
  }

  /** An idle environment must not keep the test process alive; a busy one must. */
  private hold(env: Environment, busy: boolean): void {
    const handles = [env.child, env.child.stdout, env.child.stderr, env.child.channel] as (
      | { ref?: () => void; unref?: () => void }
      | null
      | undefined
    )[];
    for (const h of handles) (busy ? h?.ref : h?.unref)?.call(h);
  }

  private discard(env: Environment): void {
    if (!this.all.delete(env)) return;
    const i = this.idle.indexOf(env);
    if (i >= 0) this.idle.splice(i, 1);
    if (!env.dead) env.child.kill('SIGKILL');
    fs.rmSync(env.tmp, { recursive: true, force: true });
  }

  /** Ends every environment (those running an invocation too, as a stopped test would). */
  close(): void {
    this.closed = true;
    for (const env of [...this.all]) this.discard(env);
  }
}

function exitError(requestId: string, code: number | null, signal: NodeJS.Signals | null): LambdaError {
  const how = signal
    ? `signal: ${signal === 'SIGABRT' ? 'aborted' : signal === 'SIGKILL' ? 'killed' : signal}`
    : `exit status ${code}`;
  return {
    errorType: 'Runtime.ExitError',
    errorMessage: `RequestId: ${requestId} Error: Runtime exited with error: ${how}`,
  };
}

function residentBytes(pid: number | undefined): number {
  if (!PROC_STATUS || pid === undefined) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function dirBytes(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else n += fs.lstatSync(full, { throwIfNoEntry: false })?.size ?? 0;
    }
  };
  try {
    walk(dir);
  } catch {
    // the environment is gone
  }
  return n;
}
