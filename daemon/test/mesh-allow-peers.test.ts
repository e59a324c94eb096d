/**
 * [mesh] allowPeers reaches the running peer: a node with an allow list connects with the peer
 * it names and refuses one it does not name (after Noise proves who it is), both dialling it.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateNodeIdentity } from '@gojinn/mesh';
import { initDataDir, loadConfigFile, startNode, type RunningNode } from '../src/index.ts';
import { testNodeConfig } from './node-config-support.ts';

const running: RunningNode[] = [];
const dirs: string[] = [];

after(async () => {
  for (const node of running.reverse()) await node.stop().catch(() => undefined);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function prepare(dir: string, mesh: string): Promise<void> {
  await initDataDir(dir);
  await writeFile(join(dir, 'config.toml'), testNodeConfig({ mesh: [mesh] }));
}

async function start(dir: string): Promise<RunningNode> {
  const started = await startNode(await loadConfigFile(join(dir, 'config.toml'), { env: {} }), {
    env: {},
    log: () => undefined,
    drainMs: 500,
  });
  running.push(started);
  return started;
}

void test('mesh.allowPeers: the named peer connects, another is refused', async () => {
  const root = await mkdtemp(join(tmpdir(), 'gojinn-allow-'));
  dirs.push(root);
  const friendDir = join(root, 'friend');
  const friendId = (await loadOrCreateNodeIdentity(friendDir)).peerId.toString();
  await prepare(join(root, 'guarded'), `allowPeers = ["${friendId}"]`);
  const guarded = await start(join(root, 'guarded'));
  const bootstrap = `bootstrap = ["${guarded.meshAddresses[0] as string}"]`;
  await prepare(friendDir, bootstrap);
  await prepare(join(root, 'stranger'), bootstrap);
  const friend = await start(friendDir);
  const stranger = await start(join(root, 'stranger'));
  assert.equal(friend.peerId, friendId);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !guarded.mesh.peers().some((peer) => peer.id === friendId)) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(
    guarded.mesh.peers().some((peer) => peer.id === friendId),
    'the allowed peer is connected',
  );
  // The stranger dialled at the same time and keeps retrying (keep-alive): give it a moment more.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(
    guarded.mesh.peers().some((peer) => peer.id === stranger.peerId),
    false,
    'the stranger is refused',
  );
  assert.equal(
    stranger.mesh.peers().some((peer) => peer.id === guarded.peerId),
    false,
  );
});
