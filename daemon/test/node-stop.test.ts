/**
 * stop() drains: a request already in flight when stop() is called is answered, new
 * connections are refused, and a request that never completes is cut after drainMs so stop()
 * still finishes. Ordering only: no timing is asserted.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, prepareDevNode, startNode, type RunningNode } from '../src/index.ts';
import { call } from './gateway-fixtures.ts';

const HELLO = new URL('../../examples/hello/build/hello.wasm', import.meta.url).pathname;
/** Short, so the never-finishing request is cut quickly. */
const DRAIN_MS = 1_000;

let root: string;
const running: RunningNode[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gojinn-node-stop-'));
});

after(async () => {
  for (const node of running) await node.stop().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

async function startHello(name: string): Promise<RunningNode> {
  const dataDir = join(root, name);
  const dev = await prepareDevNode({
    dataDir,
    modules: [{ name: 'hello', wasmPath: HELLO }],
    gateway: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    mesh: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    metrics: { host: '127.0.0.1', port: 0 },
  });
  const node = await startNode(await loadConfigFile(dev.configFile, { env: {} }), {
    env: {},
    log: () => undefined,
    drainMs: DRAIN_MS,
  });
  running.push(node);
  return node;
}

/** A connection that has sent a POST's headers and the first part of its body. */
async function halfSentPost(
  base: string,
  body: string,
  sentBytes: number,
): Promise<{ socket: Socket; reply: Promise<string> }> {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const reply = new Promise<string>((resolve) => {
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  socket.write(
    `POST /fn/hello HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, sentBytes)}`,
  );
  return { socket, reply };
}

void test('a request in flight when stop() is called is answered; new connections are refused', async () => {
  const node = await startHello('drain');
  assert.equal((await call(node.gatewayUrl, '/fn/hello')).status, 200);
  const body = '{"name":"Bo"}';
  const { socket, reply } = await halfSentPost(node.gatewayUrl, body, 5);
  // Give the server the headers before stopping (a round trip on another connection orders it).
  assert.equal((await call(node.gatewayUrl, '/fn/hello')).status, 200);
  const stopped = node.stop();
  // Refused, or reset if it raced the listener's close: either way not served.
  await assert.rejects(call(node.gatewayUrl, '/fn/hello'), (error: NodeJS.ErrnoException) =>
    ['ECONNREFUSED', 'ECONNRESET'].includes(error.code ?? ''),
  );
  socket.write(body.slice(5));
  const text = await reply;
  assert.match(text, /^HTTP\/1\.1 200 /);
  assert.match(text, /"hello":"Bo"/);
  await stopped;
});

void test('a request that never completes is cut after drainMs and stop() still finishes', async () => {
  const node = await startHello('cut');
  const { reply } = await halfSentPost(node.gatewayUrl, '{"name":"never"}', 3);
  assert.equal((await call(node.gatewayUrl, '/fn/hello')).status, 200);
  await node.stop();
  const text = await reply;
  assert.doesNotMatch(text, /"hello":"never"/);
});
