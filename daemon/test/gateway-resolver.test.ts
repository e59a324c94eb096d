/**
 * The local resolver's resolution cache: how long an install or revocation nobody reported
 * takes to reach callers (resolutionCacheMs, at its edge), `invalidate`, and the bound on
 * cached names — on a real registry, with a clock the test moves.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readExample } from '../../test/support/guests.ts';
import {
  createGateway,
  createLocalResolver,
  listen,
  type LocalResolverOptions,
} from '../src/gateway/index.ts';
import { call, errorCode, openNode, type Node } from './gateway-fixtures.ts';

const NAMES = ['alpha', 'beta', 'gamma', 'epsilon', 'zeta', 'eta'];

let node: Node;
const closers: (() => Promise<void>)[] = [];

before(async () => {
  node = await openNode();
  for (const name of NAMES) await node.install(name, readExample('hello'));
});
after(async () => {
  for (const close of closers) await close();
  await node.close();
});

async function serve(options: Partial<LocalResolverOptions>): Promise<{
  url: string;
  resolver: ReturnType<typeof createLocalResolver>;
}> {
  const resolver = createLocalResolver({ registry: node.registry, sandbox: node.sandbox, ...options });
  const listening = await listen(createGateway({ resolver, publicFunctions: NAMES }));
  closers.push(() => listening.close());
  return { url: listening.url, resolver };
}

void test('a revocation reaches callers once resolutionCacheMs has passed, or at once through invalidate', async () => {
  let now = 0;
  const { url, resolver } = await serve({ resolutionCacheMs: 1000, clock: () => now });
  assert.equal((await call(url, '/fn/alpha')).status, 200);
  assert.equal((await call(url, '/fn/beta')).status, 200);
  await node.revoke('alpha');
  await node.revoke('beta');
  now = 999;
  assert.equal((await call(url, '/fn/alpha')).status, 200, 'still cached 1 ms before the edge');
  now = 1000;
  const expired = await call(url, '/fn/alpha');
  assert.equal(expired.status, 410);
  assert.equal(errorCode(expired), 'revoked');
  assert.equal((await call(url, '/fn/beta')).status, 410, 'beta expired at the same time');

  now = 2000;
  assert.equal((await call(url, '/fn/gamma')).status, 200);
  await node.revoke('gamma');
  resolver.invalidate('gamma');
  assert.equal((await call(url, '/fn/gamma')).status, 410, 'invalidate(name) forgets at once');
});

void test('resolutionCacheMs 0 asks the registry on every request', async () => {
  const { url } = await serve({ resolutionCacheMs: 0 });
  assert.equal((await call(url, '/fn/epsilon')).status, 200);
  await node.revoke('epsilon');
  assert.equal((await call(url, '/fn/epsilon')).status, 410);
});

void test('at most maxCachedResolutions names are cached; the oldest is dropped', async () => {
  const { url, resolver } = await serve({ maxCachedResolutions: 1, resolutionCacheMs: 60_000 });
  assert.equal((await call(url, '/fn/zeta')).status, 200);
  assert.equal((await call(url, '/fn/eta')).status, 200);
  await node.revoke('zeta');
  await node.revoke('eta');
  assert.equal((await call(url, '/fn/zeta')).status, 410, 'zeta was dropped when eta came in');
  resolver.invalidate();
  assert.equal((await call(url, '/fn/eta')).status, 410, 'invalidate() forgets every name');
  assert.throws(
    () => createLocalResolver({ registry: node.registry, sandbox: node.sandbox, maxCachedResolutions: 0 }),
    /maxCachedResolutions/,
  );
  assert.throws(
    () => createLocalResolver({ registry: node.registry, sandbox: node.sandbox, resolutionCacheMs: -1 }),
    /resolutionCacheMs/,
  );
});
