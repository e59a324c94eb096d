/**
 * limits.warmPool: with it the worker threads start with the node, before any call; without it (the
 * default) none runs until the first invocation. Read from the node's own metrics.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataDir, loadConfigFile, startNode, type RunningNode } from '../src/index.ts';
import { testNodeConfig } from './node-config-support.ts';

const running: RunningNode[] = [];
const dirs: string[] = [];

after(async () => {
  for (const node of running) await node.stop().catch(() => undefined);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function start(warmPool: boolean): Promise<RunningNode> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-warm-'));
  dirs.push(dir);
  await initDataDir(join(dir, 'node'));
  await writeFile(
    join(dir, 'node', 'config.toml'),
    testNodeConfig({ limits: ['poolSize = 1', `warmPool = ${String(warmPool)}`] }),
  );
  const node = await startNode(await loadConfigFile(join(dir, 'node', 'config.toml'), { env: {} }), {
    env: {},
    log: () => undefined,
    drainMs: 500,
  });
  running.push(node);
  return node;
}

async function workers(node: RunningNode): Promise<number> {
  const line = (await node.metrics.scrape()).split('\n').find((l) => l.startsWith('gojinn_pool_workers '));
  return Number(line?.split(' ')[1] ?? Number.NaN);
}

void test('warmPool = true starts the workers with the node; false leaves them to the first call', async () => {
  const warm = await start(true);
  const cold = await start(false);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && (await workers(warm)) < 1) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await workers(warm), 1);
  assert.equal(await workers(cold), 0);
});
