/**
 * Counts what reaches an S3 server from outside the code under test: a loopback HTTP proxy in
 * front of the test's S3 server that records each request's method, key, query and body bytes,
 * and the bytes of each response. Tests compare what the engine says it did (its manifest's
 * I/O figures, the cost estimate) with what the server saw.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3Request {
  method: string;
  /** `bucket/key`, path-style, decoded. */
  key: string;
  /** The query string's parameter names (`uploads`, `partNumber`, `list-type`...). */
  query: string[];
  /** Bytes of the request's body. */
  sent: number;
  /** The Range header of a ranged GET. */
  range: string | undefined;
  /** Bytes of the response's body that reached the client (all of it, unless the client hung up). */
  received: number;
  status: number;
}

export interface S3RequestLog {
  /** The proxy's endpoint: point AWS_ENDPOINT_URL_S3 here. */
  endpoint: string;
  requests: S3Request[];
  stop(): Promise<void>;
}

/** Starts a counting proxy to the S3 server at `target` (http://host:port). */
export async function logS3Requests(target: string): Promise<S3RequestLog> {
  const upstream = new URL(target);
  const requests: S3Request[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const entry: S3Request = {
      method: req.method ?? 'GET',
      key: decodeURIComponent(url.pathname.slice(1)),
      query: [...url.searchParams.keys()],
      range: req.headers.range,
      sent: 0,
      received: 0,
      status: 0,
    };
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        entry.status = answer.statusCode ?? 0;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.on('data', (chunk: Buffer) => {
          entry.received += chunk.length;
        });
        answer.pipe(res);
        // Recorded once the answer ends or the client stops reading it (a read cut short).
        res.on('close', () => requests.push(entry));
      },
    );
    forward.on('error', (e) => res.destroy(e));
    req.on('data', (chunk: Buffer) => {
      entry.sent += chunk.length;
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
