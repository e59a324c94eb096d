/**
 * A running node against a lying sync server (a mesh node whose real sync protocol serves a
 * forged manifest): each time the liar connects, the node's catch-up finds the forgery, logs
 * `sync_misbehaviour` and closes the connection; at the penalty threshold the line says
 * `action: 'banned'` with the ban's end, and the liar cannot connect again.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multiaddr } from '@multiformats/multiaddr';
import { generateKeyPair, signManifest } from '@gojinn/manifest';
import type { Manifest } from '@gojinn/manifest';
import {
  DEFAULT_PEER_PENALTY_LIMITS,
  SYNC_PROTOCOL,
  createMeshNode,
  encodeSyncResponse,
  type MeshNode,
} from '@gojinn/mesh';
import { createNodeLogger, initDataDir, loadConfigFile, startNode, type RunningNode } from '../src/index.ts';
import { testNodeConfig } from './node-config-support.ts';

const running: RunningNode[] = [];
const liars: MeshNode[] = [];
const dirs: string[] = [];

after(async () => {
  for (const liar of liars) await liar.stop().catch(() => undefined);
  for (const node of running.reverse()) await node.stop().catch(() => undefined);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

void test('a lying sync server: sync_misbehaviour disconnects it, then bans it (action banned, until) and it cannot reconnect', async () => {
  const root = await mkdtemp(join(tmpdir(), 'gojinn-sync-ban-'));
  dirs.push(root);
  const nodeDir = join(root, 'node');
  await initDataDir(nodeDir);
  await writeFile(join(nodeDir, 'config.toml'), testNodeConfig());
  const lines: Array<Record<string, unknown>> = [];
  const logger = createNodeLogger({
    level: 'warn',
    secrets: () => [],
    destination: { write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const node = await startNode(await loadConfigFile(join(nodeDir, 'config.toml'), { env: {} }), {
    env: {},
    logger,
    log: () => undefined,
    drainMs: 500,
  });
  running.push(node);
  const address = multiaddr(node.meshAddresses[0] as string);

  const liar = await createMeshNode({ dataDir: join(root, 'liar') });
  liars.push(liar);
  // Signed, then altered: its signature no longer verifies.
  const publisher = generateKeyPair();
  const forged: Manifest = {
    ...signManifest(
      { name: 'evil', version: '1.0.0', sha256: 'e'.repeat(64), size: 100, capabilities: {} },
      publisher.secretKey,
    ),
    version: '1.0.1',
  };
  let requests = 0;
  await SYNC_PROTOCOL.handle(liar.libp2p, () => {
    requests++;
    return Promise.resolve(
      encodeSyncResponse({ records: [{ type: 'manifest', manifest: forged }], next: 'x', more: false }),
    );
  });

  const misbehaviours = () => lines.filter((line) => line.event === 'sync_misbehaviour');
  // Either end: the liar's end of a closed connection may outlive the node's for a moment.
  const connected = () =>
    node.mesh.peers().some((peer) => peer.id === liar.peerId.toString()) ||
    liar.libp2p.getConnections().some((connection) => connection.remotePeer.toString() === node.peerId);
  const { banThreshold, firstBanMs } = DEFAULT_PEER_PENALTY_LIMITS;
  for (let round = 1; round <= banThreshold; round++) {
    // Right after a closed connection the liar's end may still be closing: retry the dial.
    let dialled = false;
    const deadline = Date.now() + 10_000;
    while (!dialled && Date.now() < deadline) {
      dialled = await liar.libp2p.dial(address).then(
        () => true,
        () => false,
      );
    }
    assert.ok(dialled, `the liar connects (${round})`);
    await until(() => misbehaviours().length === round, `forgery ${round} to be logged`);
    await until(() => !connected(), `connection ${round} to be closed`);
  }
  const logged = misbehaviours().map(({ peer, code, action }) => ({ peer, code, action }));
  assert.deepEqual(logged, [
    ...Array.from({ length: banThreshold - 1 }, () => ({
      peer: liar.peerId.toString(),
      code: 'signature_invalid',
      action: 'disconnected',
    })),
    { peer: liar.peerId.toString(), code: 'signature_invalid', action: 'banned' },
  ]);
  const ban = misbehaviours().at(-1) as { until: string; bans: number; level: unknown };
  const untilMs = Date.parse(ban.until);
  assert.ok(untilMs > Date.now() && untilMs <= Date.now() + firstBanMs, `until ${ban.until}`);
  assert.equal(ban.bans, 1);
  assert.equal(requests, banThreshold);

  // Banned: the liar's connections are refused (no stream gets through), nothing more is synced.
  await assert.rejects(liar.libp2p.services.ping.ping(address));
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(connected(), false);
  assert.equal(requests, banThreshold);
  assert.equal(misbehaviours().length, banThreshold);
});
