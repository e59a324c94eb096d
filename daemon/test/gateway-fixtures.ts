/**
 * A real node behind a gateway for the gateway tests: a store in a temp dir, a registry trusting
 * one fixed publisher, a sandbox with the capabilities' host imports, a dispatcher, the local
 * resolver, and a gateway listening on 127.0.0.1. Functions are installed signed, as in use.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HOST_IMPORTS_URL,
  HostCallDispatcher,
  KvStore,
  createKvHandlers,
  type NodeGrants,
} from '@gojinn/capabilities';
import {
  encodeManifest,
  encodeRevocation,
  keyPairFromSeed,
  moduleDigest,
  signManifest,
  signRevocation,
  type DeclaredCapabilities,
  type RequestedLimits,
} from '@gojinn/manifest';
import { ModuleRegistry } from '@gojinn/registry';
import { Sandbox, type InvocationLimits } from '@gojinn/sandbox';
import { openStore, type Store } from '@gojinn/store';
import {
  createGateway,
  createLocalResolver,
  listen,
  type Gateway,
  type GatewayOptions,
  type ListeningGateway,
} from '../src/gateway/index.ts';

export const PUBLISHER = keyPairFromSeed(new Uint8Array(32).fill(21));
const CREATED = '2026-01-31T12:00:00.000Z';

export interface Node {
  registry: ModuleRegistry;
  sandbox: Sandbox;
  dispatcher: HostCallDispatcher;
  install(
    name: string,
    bytes: Uint8Array,
    version?: string,
    capabilities?: DeclaredCapabilities,
    limits?: RequestedLimits,
  ): Promise<void>;
  revoke(name: string, version?: string): Promise<void>;
  close(): Promise<void>;
}

export async function openNode(): Promise<Node> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-gateway-'));
  const store: Store = await openStore(dir);
  const registry = new ModuleRegistry({ store, trust: { publishers: [PUBLISHER.publicKey] } });
  const sandbox = new Sandbox({ pool: { size: 1, hostImportsUrl: HOST_IMPORTS_URL } });
  // The real KV capability over the node's own store, so grants can be exercised end to end.
  const dispatcher = new HostCallDispatcher({
    log: () => undefined,
    handlers: createKvHandlers(new KvStore(store.extension('kv'))),
  });
  return {
    registry,
    sandbox,
    dispatcher,
    async install(name, bytes, version = '1.0.0', capabilities = {}, limits = {}) {
      const manifest = signManifest(
        { name, version, ...moduleDigest(bytes), capabilities, limits, created: CREATED },
        PUBLISHER.secretKey,
      );
      await registry.install(bytes, encodeManifest(manifest));
    },
    async revoke(name, version = '1.0.0') {
      const target = { kind: 'version' as const, publisher: PUBLISHER.publicKey, name, version };
      await registry.applyRevocation(
        encodeRevocation(signRevocation({ target, created: CREATED }, PUBLISHER.secretKey)),
      );
    },
    async close() {
      await sandbox.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A gateway over the node's local resolver, listening on 127.0.0.1. */
export async function serveNode(
  node: Node,
  options: Omit<GatewayOptions, 'resolver'> = {},
  limits: Partial<InvocationLimits> = {},
  grants?: NodeGrants,
): Promise<{ gateway: Gateway; listening: ListeningGateway }> {
  const resolver = createLocalResolver({
    registry: node.registry,
    sandbox: node.sandbox,
    dispatcher: node.dispatcher,
    limits,
    ...(grants === undefined ? {} : { grants }),
  });
  const gateway = createGateway({ ...options, resolver });
  return { gateway, listening: await listen(gateway, { drainMs: 1000 }) };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function call(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Uint8Array } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      { method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** The error body's code, asserting the shape `{"error":{"code","message"}}`. */
export function errorCode(reply: Reply): string {
  const parsed = JSON.parse(reply.body) as { error?: { code?: unknown; message?: unknown } };
  if (typeof parsed.error?.code !== 'string' || typeof parsed.error.message !== 'string') {
    throw new Error(`not an error body: ${reply.body}`);
  }
  return parsed.error.code;
}

/**
 * Sends raw bytes on a fresh connection and returns everything the server wrote until it closed
 * the connection (or `waitMs` passed). `pauses` are [bytes, ms to wait before sending them].
 */
export function rawExchange(
  base: string,
  parts: readonly (readonly [string, number])[],
  waitMs = 5000,
): Promise<string> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const received: Buffer[] = [];
    const timers: NodeJS.Timeout[] = [];
    const done = (): void => {
      for (const timer of timers) clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(received).toString('latin1'));
    };
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', done);
    socket.on('error', (error) => {
      for (const timer of timers) clearTimeout(timer);
      reject(error);
    });
    socket.on('connect', () => {
      let at = 0;
      for (const [bytes, delay] of parts) {
        at += delay;
        timers.push(
          setTimeout(() => {
            if (!socket.destroyed) socket.write(bytes);
          }, at),
        );
      }
      timers.push(setTimeout(done, at + waitMs));
    });
  });
}
