/**
 * Noise on the wire, checked by us rather than taken from libp2p: (a) a TCP proxy between two
 * real nodes records every byte both ways while a unique marker goes through a real protocol
 * and back — the call succeeds and the marker is nowhere on the wire, raw, UTF-16, hex or
 * base64 (the same harness on a plaintext pair does find it, so the search can fail); (b) a
 * peer whose only connection encrypter is plaintext cannot connect to a Gojinn node either
 * way, and nothing it sends reaches a protocol handler.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { once } from 'node:events';
import { createLibp2p } from 'libp2p';
import type { Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { yamux } from '@chainsafe/libp2p-yamux';
import { plaintext } from '@libp2p/plaintext';
import type { PeerId } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import type { Multiaddr } from '@multiformats/multiaddr';
import { defineProtocol } from '../src/request-response.ts';
import { TestMesh, addrOf, waitFor } from './support/nodes.ts';

const ECHO = defineProtocol({
  name: 'wire-echo',
  maxRequestBytes: 4096,
  maxResponseBytes: 4096,
  timeoutMs: 5000,
});
const utf8 = new TextEncoder();

/** A TCP proxy on loopback to `target`, keeping every byte that crosses it, each way. */
class RecordingProxy {
  readonly toServer: Buffer[] = [];
  readonly toClient: Buffer[] = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(target: { port: number }) {
    this.#server = createServer((client) => {
      const upstream = connect({ host: '127.0.0.1', port: target.port });
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (chunk: Buffer) => {
        this.toServer.push(Buffer.from(chunk));
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => {
        this.toClient.push(Buffer.from(chunk));
        client.write(chunk);
      });
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
    });
  }

  static async start(target: { port: number }): Promise<RecordingProxy> {
    const proxy = new RecordingProxy(target);
    proxy.#server.listen(0, '127.0.0.1');
    await once(proxy.#server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Every byte each way, in order. */
  recorded(): { toServer: Buffer; toClient: Buffer } {
    return { toServer: Buffer.concat(this.toServer), toClient: Buffer.concat(this.toClient) };
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#server.close();
    await once(this.#server, 'close');
  }
}

/**
 * Every form of `marker` searched for on the wire: UTF-8, UTF-16LE and UTF-16BE, hex in both
 * cases, and base64 and base64url at each of the three alignments the marker could start at
 * inside a longer base64 text (the characters that depend on neighbouring bytes dropped).
 */
function markerForms(marker: string): Array<[string, Buffer]> {
  const raw = Buffer.from(marker, 'utf8');
  const forms: Array<[string, Buffer]> = [
    ['utf-8', raw],
    ['utf-16le', Buffer.from(marker, 'utf16le')],
    ['utf-16be', Buffer.from(marker, 'utf16le').swap16()],
    ['hex', Buffer.from(raw.toString('hex'))],
    ['HEX', Buffer.from(raw.toString('hex').toUpperCase())],
  ];
  for (const encoding of ['base64', 'base64url'] as const) {
    for (let shift = 0; shift < 3; shift++) {
      const text = Buffer.concat([Buffer.alloc(shift), raw])
        .toString(encoding)
        .replace(/=+$/, '');
      // Skip the characters holding the padding bytes; drop the last (it may mix in what follows).
      const skip = Math.ceil((shift * 4) / 3);
      forms.push([`${encoding}+${shift}`, Buffer.from(text.slice(skip, -1))]);
    }
  }
  return forms;
}

/** The forms of `marker` found in `bytes` (none expected on an encrypted wire). */
function findMarker(bytes: Buffer, marker: string): string[] {
  return markerForms(marker)
    .filter(([, form]) => bytes.includes(form))
    .map(([name]) => name);
}

function tcpPort(node: { getMultiaddrs(): Multiaddr[] }): number {
  const port = node
    .getMultiaddrs()[0]
    ?.getComponents()
    .find((c) => c.name === 'tcp')?.value;
  assert.ok(port !== undefined, 'the node listens on TCP');
  return Number(port);
}

/** A bare libp2p node whose only connection encrypter is `@libp2p/plaintext`. */
async function plaintextNode(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [plaintext()],
    streamMuxers: [yamux()],
  });
}

/**
 * Serves the echo on `server`, then calls it from `client` through a recording proxy with a
 * fresh marker; returns what the call answered and where the marker was seen on the wire.
 */
async function echoThroughProxy(
  server: { node: Libp2p; peerId: PeerId },
  client: Libp2p,
): Promise<{ answer: string; seen: { toServer: string[]; toClient: string[] }; bytes: number }> {
  await ECHO.handle(server.node, (request) => Promise.resolve(request));
  const proxy = await RecordingProxy.start({ port: tcpPort(server.node) });
  try {
    const marker = `gojinn-wire-marker-${randomUUID()}`;
    const via = multiaddr(`/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${server.peerId.toString()}`);
    const answer = new TextDecoder().decode(await ECHO.request(client, via, utf8.encode(marker)));
    const [connection] = client.getConnections(server.peerId);
    assert.equal(connection?.remoteAddr.toString(), via.toString(), 'the call went through the proxy');
    await client.hangUp(server.peerId);
    const { toServer, toClient } = proxy.recorded();
    return {
      answer: answer === marker ? 'echoed' : `unexpected ${answer}`,
      seen: { toServer: findMarker(toServer, marker), toClient: findMarker(toClient, marker) },
      bytes: toServer.byteLength + toClient.byteLength,
    };
  } finally {
    await proxy.close();
  }
}

void test('the marker search finds the marker in each encoding of a longer text, at every alignment, and nothing in other bytes', () => {
  const marker = `gojinn-wire-marker-${randomUUID()}`;
  const encodings: Array<[string, (text: string) => Buffer]> = [
    ['utf-8', (text) => Buffer.from(text, 'utf8')],
    ['utf-16le', (text) => Buffer.from(text, 'utf16le')],
    ['utf-16be', (text) => Buffer.from(text, 'utf16le').swap16()],
    ['hex', (text) => Buffer.from(Buffer.from(text).toString('hex'))],
    ['HEX', (text) => Buffer.from(Buffer.from(text).toString('hex').toUpperCase())],
    ['base64', (text) => Buffer.from(Buffer.from(text).toString('base64'))],
    ['base64url', (text) => Buffer.from(Buffer.from(text).toString('base64url'))],
  ];
  for (const [name, encode] of encodings) {
    for (const prefix of ['', 'x', 'xy', 'xyz']) {
      const found = findMarker(encode(`${prefix}${marker}tail`), marker);
      assert.ok(
        found.some((form) => form === name || form.startsWith(`${name}+`)),
        `${name} after ${JSON.stringify(prefix)}: found ${found.join() || 'nothing'}`,
      );
    }
  }
  assert.deepEqual(findMarker(Buffer.alloc(1 << 16, 0xa5), marker), []);
  assert.deepEqual(findMarker(Buffer.from(`gojinn-wire-marker-${randomUUID()}`), marker), []);
});

void test('Noise on the wire: a marker echoed through a real protocol crosses a recording proxy both ways and is nowhere in its bytes; a plaintext pair through the same proxy shows it', async () => {
  const mesh = new TestMesh();
  const plain: Libp2p[] = [];
  try {
    const a = await mesh.node();
    const b = await mesh.node();
    const noise = await echoThroughProxy({ node: a.libp2p, peerId: a.peerId }, b.libp2p);
    assert.equal(noise.answer, 'echoed', 'the call succeeded');
    assert.deepEqual(noise.seen, { toServer: [], toClient: [] }, 'the marker in no form, either way');
    assert.ok(noise.bytes > 1000, `the proxy carried the connection (${noise.bytes} bytes)`);

    // The control: with plaintext instead of Noise the same search finds the marker both ways.
    const server = await plaintextNode();
    const client = await plaintextNode();
    plain.push(server, client);
    const clear = await echoThroughProxy({ node: server, peerId: server.peerId }, client);
    assert.equal(clear.answer, 'echoed');
    assert.ok(clear.seen.toServer.includes('utf-8'), `request seen in clear: ${clear.seen.toServer.join()}`);
    assert.ok(clear.seen.toClient.includes('utf-8'), `response seen in clear: ${clear.seen.toClient.join()}`);
  } finally {
    await Promise.allSettled(plain.map((node) => node.stop()));
    await mesh.close();
  }
});

void test('a peer that only speaks plaintext cannot connect to a Gojinn node, either way; nothing it sends reaches a handler', async () => {
  const mesh = new TestMesh();
  const intruder = await plaintextNode();
  try {
    const node = await mesh.node();
    const calls: string[] = [];
    await ECHO.handle(node.libp2p, (request, context) => {
      calls.push(context.peerId.toString());
      return Promise.resolve(request);
    });
    const opened: string[] = [];
    node.libp2p.addEventListener('connection:open', (event) =>
      opened.push(event.detail.remotePeer.toString()),
    );

    // Inbound: the intruder dials and calls; no encrypter is agreed, so no connection opens.
    await assert.rejects(intruder.dial(multiaddr(addrOf(node))));
    await assert.rejects(ECHO.request(intruder, multiaddr(addrOf(node)), utf8.encode('hello')));
    // Outbound: the Gojinn node cannot open a connection to it either.
    const intruderAddr = intruder.getMultiaddrs()[0];
    assert.ok(intruderAddr !== undefined);
    await assert.rejects(node.libp2p.dial(intruderAddr));
    await assert.rejects(ECHO.request(node.libp2p, intruderAddr, utf8.encode('hello')));

    assert.deepEqual(calls, [], 'no call reached the handler');
    assert.deepEqual(opened, [], 'no connection opened on the Gojinn node');
    assert.equal(node.libp2p.getConnections(intruder.peerId).length, 0);
    assert.equal(intruder.getConnections(node.peerId).length, 0);

    // The same handler answers a Noise peer at once (the refusals were not the node being down).
    const friend = await mesh.node();
    const answer = await ECHO.request(friend.libp2p, multiaddr(addrOf(node)), utf8.encode('hello'));
    assert.equal(new TextDecoder().decode(answer), 'hello');
    await waitFor(() => calls.length === 1, 'the Noise peer to reach the handler');
    assert.deepEqual(calls, [friend.peerId.toString()]);
  } finally {
    await intruder.stop();
    await mesh.close();
  }
});
