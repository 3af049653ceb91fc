/**
 * An S3 that throttles and fails as Amazon S3 does, in front of the test's S3 server (a loopback
 * HTTP proxy):
 * - **SlowDown**: S3 serves about 3,500 writes and 5,500 reads per second per prefix and answers
 *   `503 SlowDown` above that. Here a prefix is what S3's documentation calls one (the key up to
 *   its last `/`), and its rates are scaled down for tests (`readsPerSecond`, `writesPerSecond`,
 *   counted over the last second).
 * - **Faults**: a fraction of the other requests gets `500 InternalError`, another has its
 *   connection dropped before any answer (both from a seeded generator: a run is repeatable).
 * Every request is recorded (method, key, status), so a test can also see how the load spread.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultOptions {
  /** GET/HEAD per second per prefix before 503 SlowDown. @default Infinity */
  readsPerSecond?: number;
  /** PUT/POST/DELETE per second per prefix before 503 SlowDown. @default Infinity */
  writesPerSecond?: number;
  /** Fraction of requests answered 500 InternalError. @default 0 */
  serverErrors?: number;
  /** Fraction of requests whose connection is dropped unanswered. @default 0 */
  drops?: number;
  /** @default 1 */
  seed?: number;
}

export interface FaultyRequest {
  method: string;
  /** `bucket/key`, decoded. */
  key: string;
  range: string | undefined;
  /** The status answered, or 0 for a dropped connection. */
  status: number;
}

export interface FaultyS3 {
  endpoint: string;
  requests: FaultyRequest[];
  /** Requests answered 503 SlowDown, 500, or dropped. */
  injected(): { slowDown: number; serverErrors: number; drops: number };
  stop(): Promise<void>;
}

/** The prefix S3 scales by: the key's "folder" (`bucket/a/b/` of `bucket/a/b/c`). */
export const prefixOf = (key: string) => key.slice(0, key.lastIndexOf('/') + 1);

/** mulberry32: small, seeded, good enough to pick which requests fail. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const errorXml = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>FAULTY</RequestId></Error>`;

export async function startFaultyS3(target: string, options: FaultOptions = {}): Promise<FaultyS3> {
  const upstream = new URL(target);
  const next = random(options.seed ?? 1);
  const requests: FaultyRequest[] = [];
  /** Times (ms) of the requests each prefix served in the last second, reads and writes apart. */
  const recent = new Map<string, number[]>();
  const counts = { slowDown: 0, serverErrors: 0, drops: 0 };

  const overRate = (prefix: string, read: boolean): boolean => {
    const limit = read ? options.readsPerSecond : options.writesPerSecond;
    if (limit === undefined || !Number.isFinite(limit)) return false;
    const key = `${read ? 'r' : 'w'} ${prefix}`;
    const now = Date.now();
    const times = (recent.get(key) ?? []).filter((t) => now - t < 1000);
    recent.set(key, times);
    if (times.length >= limit) return true;
    times.push(now);
    return false;
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const method = req.method ?? 'GET';
    const entry: FaultyRequest = {
      method,
      key: decodeURIComponent(url.pathname.slice(1)),
      range: req.headers.range,
      status: 0,
    };
    requests.push(entry);
    const answer = (status: number, code: string, message: string) => {
      // The body is read first, as S3 does before it answers a PUT.
      req.resume();
      req.on('end', () => {
        entry.status = status;
        res.writeHead(status, { 'content-type': 'application/xml' });
        res.end(errorXml(code, message));
      });
    };
    const read = method === 'GET' || method === 'HEAD';
    // Bucket-level requests (listings, multi-object deletes) count against the bucket's root prefix.
    if (overRate(prefixOf(entry.key), read)) {
      counts.slowDown++;
      return answer(503, 'SlowDown', 'Please reduce your request rate.');
    }
    const dice = next();
    if (dice < (options.drops ?? 0)) {
      counts.drops++;
      req.socket.destroy();
      return;
    }
    if (dice < (options.drops ?? 0) + (options.serverErrors ?? 0)) {
      counts.serverErrors++;
      return answer(500, 'InternalError', 'We encountered an internal error. Please try again.');
    }
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (back) => {
        entry.status = back.statusCode ?? 0;
        res.writeHead(back.statusCode ?? 502, back.headers);
        back.pipe(res);
      },
    );
    forward.on('error', (e) => res.destroy(e));
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    injected: () => ({ ...counts }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
