/**
 * The mesh's module executor (daemon/src/node/module-executor.ts) as the router's local
 * executor: a module installed here is looked up in the registry ONCE per routed call (find,
 * then run what was found), a module that is not served here (absent, revoked, outside the
 * range) is reported as not found here so the router can go to a provider, and a lookup that
 * fails for another reason (the store) is not mistaken for "not here".
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { GojinnError } from '@gojinn/errors';
import { InvocationRouter } from '@gojinn/mesh';
import type { ModuleRegistry } from '@gojinn/registry';
import { DEFAULT_INVOCATION_LIMITS, buildRequest } from '@gojinn/sandbox';
import { loadFixture } from '../../test/support/wat.ts';
import {
  createModuleExecutor,
  type ModuleExecutor,
  type ModuleRunResult,
} from '../src/node/module-executor.ts';
import { openNode, type Node } from './gateway-fixtures.ts';

let node: Node;
const LIMITS = { ...DEFAULT_INVOCATION_LIMITS, timeoutMs: 10_000 };

before(async () => {
  node = await openNode();
  await node.install('respond', await loadFixture('respond-ok'));
  await node.install('gone', await loadFixture('respond-ok'), '1.0.0');
  await node.revoke('gone');
});
after(async () => {
  await node.close();
});

/** The node's registry, counting the lookups the executor makes through it. */
function countingRegistry(registry: ModuleRegistry, fail?: Error) {
  const counts = { resolve: 0, get: 0 };
  const counted: Pick<ModuleRegistry, 'resolve' | 'get'> = {
    resolve: (name, publisher) => {
      counts.resolve++;
      if (fail !== undefined) return Promise.reject(fail);
      return registry.resolve(name, publisher);
    },
    get: (hash) => {
      counts.get++;
      if (fail !== undefined) return Promise.reject(fail);
      return registry.get(hash);
    },
  };
  return { counts, counted };
}

function executorOver(registry: Pick<ModuleRegistry, 'resolve' | 'get'>): ModuleExecutor {
  return createModuleExecutor({
    registry,
    sandbox: node.sandbox,
    dispatcher: node.dispatcher,
    limits: LIMITS,
  });
}

function route(name: string) {
  return {
    module: { name, range: '^1.0.0' },
    request: buildRequest({ uri: '/' }),
    deadlineMs: 10_000,
  };
}

void test('a routed call of an installed module looks it up once and runs here', async () => {
  const { counts, counted } = countingRegistry(node.registry);
  const executor = executorOver(counted);
  const router = new InvocationRouter({ local: { find: (m) => executor.find(m) }, providers: () => [] });
  const routed = await router.invoke(route('respond'));
  assert.equal(routed.where, 'local');
  assert.equal(routed.response.status, 200);
  assert.deepEqual(counts, { resolve: 1, get: 0 });
});

void test('a module found once runs as often as asked without another lookup', async () => {
  const { counts, counted } = countingRegistry(node.registry);
  const found = await executorOver(counted).find({ name: 'respond', range: '*' });
  assert.ok(found !== undefined);
  for (let i = 0; i < 3; i++) {
    const ran: ModuleRunResult = await found.run({ request: buildRequest({ uri: '/' }), deadlineMs: 10_000 });
    assert.equal(ran.outcome.ok, true);
    assert.equal(ran.name, 'respond');
  }
  assert.deepEqual(counts, { resolve: 1, get: 0 });
});

void test('absent, revoked and out-of-range modules are not found here; the router then needs a provider', async () => {
  const executor = executorOver(node.registry);
  assert.equal(await executor.find({ name: 'missing', range: '*' }), undefined);
  assert.equal(await executor.find({ name: 'gone', range: '*' }), undefined);
  assert.equal(await executor.find({ name: 'respond', range: '^2.0.0' }), undefined);
  assert.equal(await executor.find({ sha256: 'a'.repeat(64) }), undefined);
  const router = new InvocationRouter({ local: { find: (m) => executor.find(m) }, providers: () => [] });
  await assert.rejects(router.invoke(route('gone')), (error: unknown) => {
    assert.ok(error instanceof GojinnError);
    // Not run here, and no remote path on this router: it says why instead of running a revoked module.
    assert.equal(error.code, 'not_found');
    return true;
  });
});

void test('a lookup that fails for a reason other than "not here" is thrown, not routed away', async () => {
  const broken = new GojinnError('internal', 'store read failed');
  const { counted } = countingRegistry(node.registry, broken);
  await assert.rejects(executorOver(counted).find({ name: 'respond', range: '*' }), /store read failed/);
});

void test('run() resolves and reports the lookup error for the invoke protocol', async () => {
  const executor = executorOver(node.registry);
  await assert.rejects(
    executor.run({
      module: { name: 'gone', range: '*' },
      request: buildRequest({ uri: '/' }),
      deadlineMs: 10_000,
    }),
    (error: unknown) => error instanceof GojinnError && error.code === 'revoked',
  );
});
