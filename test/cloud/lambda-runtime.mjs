/**
 * One emulated Lambda execution environment of the cloud harness (a child process per
 * environment, started by test/cloud/lambda.ts): it loads the BUNDLED handler from the asset
 * directory as the Node.js runtime does (`_HANDLER` = `index.plan` → `index.mjs|js|cjs`, export
 * `plan`), then runs the invocations the parent sends over IPC one at a time, each with a
 * Lambda context, and answers with the result or with the error document the Node.js runtime
 * makes (`errorType` = the error's name, `errorMessage`, `trace`).
 *
 * Its /tmp (TMPDIR) is limited to STREAMING_HARNESS_TMP_BYTES as Lambda's ephemeral storage is:
 * a write that would pass it fails with ENOSPC, and statfs reports that size. The heap limit
 * (--max-old-space-size) and the timeout are the parent's to enforce.
 *
 * Plain JavaScript: this runs in a bare `node`, not through the tests' TypeScript transform.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const TMP = process.env.TMPDIR ?? '/tmp';
const TMP_BYTES = Number(process.env.STREAMING_HARNESS_TMP_BYTES ?? Number.POSITIVE_INFINITY);
delete process.env.STREAMING_HARNESS_TMP_BYTES; // the function sees Lambda's environment only

await limitTmp();

const { send } = process;
const reply = (m) => send.call(process, m);
const init = await loadHandler();
reply({ type: 'ready', ...(init.error ? { error: init.error } : {}) });

process.on('message', async (m) => {
  if (m?.type !== 'invoke') return;
  if (init.error) return reply({ type: 'done', id: m.id, error: init.error });
  const context = {
    awsRequestId: m.requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: m.functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, m.deadline - Date.now()),
  };
  try {
    const result = await init.handler(m.event, context);
    // Lambda returns the handler's result as JSON (undefined as null).
    reply({ type: 'done', id: m.id, result: result === undefined ? null : JSON.parse(JSON.stringify(result)) });
  } catch (e) {
    reply({ type: 'done', id: m.id, error: errorDocument(e) });
  }
});

/** The Node.js runtime's error document for a thrown value. */
function errorDocument(e) {
  if (e instanceof Error || (e && typeof e === 'object' && 'message' in e && 'name' in e))
    return { errorType: String(e.name), errorMessage: String(e.message), trace: String(e.stack ?? '').split('\n') };
  return { errorType: typeof e, errorMessage: String(e), trace: [] };
}

async function loadHandler() {
  const root = process.env.LAMBDA_TASK_ROOT;
  const handlerName = process.env._HANDLER ?? '';
  const dot = handlerName.lastIndexOf('.');
  const base = handlerName.slice(0, dot);
  const name = handlerName.slice(dot + 1);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => path.join(root, base + ext)).find((f) => fs.existsSync(f));
  if (!file)
    return {
      error: { errorType: 'Runtime.ImportModuleError', errorMessage: `Error: Cannot find module '${base}'`, trace: [] },
    };
  try {
    const module = await import(pathToFileURL(file).href);
    const handler = module[name];
    if (typeof handler !== 'function')
      return {
        error: {
          errorType: 'Runtime.HandlerNotFound',
          errorMessage: `${handlerName} is undefined or not exported`,
          trace: [],
        },
      };
    return { handler };
  } catch (e) {
    // An error thrown while the module initialises is the invocation's error.
    return { error: errorDocument(e) };
  }
}

/**
 * Lambda's /tmp is a file system of the configured size. Here it is a directory of the host's,
 * so every way this process writes files is counted against the size: a write that would take
 * the directory past it throws ENOSPC, as the kernel would. (Stream programs, other processes,
 * are measured by the parent after each invocation instead.)
 */
async function limitTmp() {
  if (!Number.isFinite(TMP_BYTES)) return;
  let measured = 0; // bytes in TMP at the last walk
  let since = 0; // bytes written since: an upper bound of the growth
  const usage = () => {
    let n = 0;
    const walk = (dir) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else n += fs.lstatSync(full, { throwIfNoEntry: false })?.size ?? 0;
      }
    };
    walk(TMP);
    return n;
  };
  const enospc = (syscall) =>
    Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), { code: 'ENOSPC', errno: -28, syscall });
  const reserve = (n, syscall) => {
    if (measured + since + n > TMP_BYTES) {
      measured = usage();
      since = 0;
      if (measured + n > TMP_BYTES) throw enospc(syscall);
    }
    since += n;
  };
  const sizeOf = (data, encoding) =>
    typeof data === 'string'
      ? Buffer.byteLength(data, typeof encoding === 'string' ? encoding : 'utf8')
      : data.byteLength;
  const writeLength = (buffer, a, b) => {
    // write(fd, buffer, offset?, length?) | write(fd, buffer, {offset, length}) | write(fd, string, position?, encoding?)
    if (typeof buffer === 'string') return Buffer.byteLength(buffer, typeof b === 'string' ? b : 'utf8');
    if (a && typeof a === 'object') return a.length ?? buffer.byteLength - (a.offset ?? 0);
    if (typeof b === 'number') return b;
    return buffer.byteLength - (typeof a === 'number' ? a : 0);
  };
  const isStd = (fd) => fd === 1 || fd === 2;
  /** Wraps a writing function so its bytes are reserved first; `kind` says how it reports an error. */
  const wrap = (obj, name, count, kind) => {
    const original = obj[name];
    if (typeof original !== 'function') return;
    obj[name] = function limited(...args) {
      const n = count(...args);
      if (n > 0) {
        try {
          reserve(n, name.replace(/Sync$/, ''));
        } catch (e) {
          if (kind === 'promise') return Promise.reject(e);
          const callback = args.at(-1);
          if (kind === 'callback' && typeof callback === 'function') return void process.nextTick(callback, e);
          throw e;
        }
      }
      return original.apply(this, args);
    };
  };
  const total = (buffers) => buffers.reduce((s, x) => s + x.byteLength, 0);
  const dataSize = (data, options) =>
    typeof data === 'string' || ArrayBuffer.isView(data)
      ? sizeOf(data, typeof options === 'string' ? options : options?.encoding)
      : 0;
  const noCallback = (x) => (typeof x === 'function' ? undefined : x);
  wrap(fs, 'writeSync', (fd, buffer, a, b) => (isStd(fd) ? 0 : writeLength(buffer, a, b)), 'sync');
  wrap(
    fs,
    'write',
    (fd, buffer, a, b) => (isStd(fd) ? 0 : writeLength(buffer, noCallback(a), noCallback(b))),
    'callback',
  );
  wrap(fs, 'writevSync', (fd, buffers) => (isStd(fd) ? 0 : total(buffers)), 'sync');
  wrap(fs, 'writev', (fd, buffers) => (isStd(fd) ? 0 : total(buffers)), 'callback');
  for (const [name, kind] of [
    ['writeFileSync', 'sync'],
    ['appendFileSync', 'sync'],
    ['writeFile', 'callback'],
    ['appendFile', 'callback'],
  ])
    wrap(
      fs,
      name,
      (file, data, options) => (typeof file === 'number' && isStd(file) ? 0 : dataSize(data, noCallback(options))),
      kind,
    );
  for (const name of ['writeFile', 'appendFile'])
    wrap(fs.promises, name, (_file, data, options) => dataSize(data, options), 'promise');
  // FileHandle (fs.promises.open): its class is reached through an instance.
  const handle = await fs.promises.open(TMP, 'r');
  const proto = Object.getPrototypeOf(handle);
  await handle.close();
  wrap(proto, 'write', (buffer, a, b) => writeLength(buffer, a, b), 'promise');
  wrap(proto, 'writev', (buffers) => total(buffers), 'promise');
  wrap(proto, 'writeFile', (data, options) => dataSize(data, options), 'promise');
  // statfs of /tmp: the configured size, as Lambda's /tmp file system reports it.
  const inTmp = (p) => path.resolve(String(p)).startsWith(path.resolve(TMP));
  const fake = (real) => {
    const bsize = 4096;
    const used = usage();
    measured = used;
    since = 0;
    return Object.assign(Object.create(Object.getPrototypeOf(real)), real, {
      bsize,
      blocks: Math.floor(TMP_BYTES / bsize),
      bfree: Math.max(0, Math.floor((TMP_BYTES - used) / bsize)),
      bavail: Math.max(0, Math.floor((TMP_BYTES - used) / bsize)),
    });
  };
  const statfsSync = fs.statfsSync;
  fs.statfsSync = (p, options) => (inTmp(p) ? fake(statfsSync(p, options)) : statfsSync(p, options));
  const statfs = fs.statfs;
  fs.statfs = (p, options, callback) => {
    const cb = typeof options === 'function' ? options : callback;
    const opts = typeof options === 'function' ? undefined : options;
    statfs(p, opts, (err, s) => cb(err, err || !inTmp(p) ? s : fake(s)));
  };
  const statfsPromise = fs.promises.statfs;
  fs.promises.statfs = async (p, options) => {
    const s = await statfsPromise(p, options);
    return inTmp(p) ? fake(s) : s;
  };
  // Named imports of node:fs (`import { writeSync } from 'node:fs'`) see the limited functions too.
  syncBuiltinESMExports();
}
