import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ResolvedAddress } from '../src/http/checked-resolver.ts';

/** One request as a loopback test server received it. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Name, value, name, value… as received (Node's `headers` object drops a `__proto__` field). */
  rawHeaders: string[];
  body: Buffer;
  /** The address the client connected to. */
  localAddress: string;
  /** The TLS server name (SNI) the client sent; undefined over plain HTTP or without SNI. */
  servername: string | undefined;
}

export interface TestServer {
  readonly host: string;
  readonly port: number;
  /** `http://host:port` (IPv6 in brackets). */
  readonly origin: string;
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

export type TestHandler = (request: RecordedRequest, response: http.ServerResponse) => void;

/** A server on a loopback address (never anything else) that records every request it gets. */
export async function startServer(
  handler: TestHandler,
  host = '127.0.0.1',
  tls?: { key: string; cert: string },
): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks),
        localAddress: req.socket.localAddress ?? '',
        servername: (req.socket as { servername?: string | false }).servername || undefined,
      };
      requests.push(recorded);
      handler(recorded, res);
    });
  };
  const server = tls === undefined ? http.createServer(onRequest) : https.createServer(tls, onRequest);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `${tls === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    host,
    port,
    origin,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Counts client sockets and HTTP client requests the process creates (Node's own diagnostics
 * channels), so a test can prove a refused call never tried to connect anywhere.
 */
export function watchOutboundConnections(): {
  readonly sockets: number;
  readonly requests: number;
  stop(): void;
} {
  let sockets = 0;
  let requests = 0;
  const onSocket = (): void => void sockets++;
  const onRequest = (): void => void requests++;
  subscribe('net.client.socket', onSocket);
  subscribe('http.client.request.start', onRequest);
  return {
    get sockets() {
      return sockets;
    },
    get requests() {
      return requests;
    },
    stop() {
      unsubscribe('net.client.socket', onSocket);
      unsubscribe('http.client.request.start', onRequest);
    },
  };
}

/**
 * A resolver that answers from a table and records every question: a hostile DNS in a box.
 * An answer may be a list per call (`[first, second, ...]`) to play DNS rebinding.
 */
export function tableResolver(table: Record<string, string[] | string[][]>): {
  resolve: (hostname: string) => Promise<ResolvedAddress[]>;
  calls: string[];
} {
  const calls: string[] = [];
  const resolve = (hostname: string): Promise<ResolvedAddress[]> => {
    const asked = calls.filter((name) => name === hostname).length;
    calls.push(hostname);
    const entry = Object.hasOwn(table, hostname) ? table[hostname] : undefined;
    if (entry === undefined)
      return Promise.reject(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    const answer = Array.isArray(entry[0])
      ? ((entry as string[][])[Math.min(asked, entry.length - 1)] ?? [])
      : (entry as string[]);
    return Promise.resolve(
      answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as ResolvedAddress),
    );
  };
  return { resolve, calls };
}

/** Bytes of `n` repeated `fill`. */
export function bytes(n: number, fill = 0x61): Buffer {
  return Buffer.alloc(n, fill);
}
