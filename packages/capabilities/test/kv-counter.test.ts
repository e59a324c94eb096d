/**
 * The kv-counter example (AssemblyScript, built by `npm run build:guests`) end to end: manifest
 * declarations, node grants, effective rights, the real pool, the kv handlers, a real store.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { GojinnError } from '@gojinn/errors';
import { checkImports, readModuleImports } from '@gojinn/manifest';
import type { PreparedModule } from '@gojinn/sandbox';
import { effectiveRights, grantedTo, parseGrants } from '../src/grants.ts';
import type { CapabilityRights, ModuleIdentity } from '../src/handler.ts';
import { DEFAULT_KV_LIMITS } from '../src/kv/kv-limits.ts';
import { Harness, PUBLISHER_A, PUBLISHER_B, moduleIdentity } from './support/harness.ts';
import { kvFixture, type KvFixture } from './support/kv-fixture.ts';

const WASM = fileURLToPath(new URL('../../../examples/kv-counter/build/kv-counter.wasm', import.meta.url));

/** What the example's manifest declares. */
const DECLARED: CapabilityRights = {
  'kv.read': { prefixes: ['counter/'] },
  'kv.write': { prefixes: ['counter/'] },
};

let kv: KvFixture;
let h: Harness;
let counter: PreparedModule;
let bytes: Uint8Array;

before(async () => {
  if (!existsSync(WASM)) throw new Error(`${WASM} is missing: run \`npm run build:guests\` first`);
  bytes = new Uint8Array(readFileSync(WASM));
  kv = await kvFixture();
  h = new Harness({ handlers: kv.handlers });
  counter = h.sandbox.prepare(bytes);
});

after(async () => {
  await h.close();
  await kv.close();
});

async function visit(
  key: string | null,
  rights: CapabilityRights,
  module: ModuleIdentity = moduleIdentity('kv-counter'),
): Promise<{ status: number | undefined; body: unknown; code: string | undefined }> {
  const uri = key === null ? '/' : `/?key=${encodeURIComponent(key)}`;
  const request = new TextEncoder().encode(
    JSON.stringify({ method: 'GET', uri, headers: {}, body: '', trace_id: 'a'.repeat(32) }),
  );
  const { outcome } = await h.invoke(counter, request, rights, { module });
  return {
    status: outcome.response?.status,
    body: outcome.response === undefined ? undefined : JSON.parse(outcome.response.body),
    code: outcome.error?.code,
  };
}

void test('granted and in scope: the counter counts per key, from the node’s grants through the real pool', async () => {
  const grants = parseGrants(
    { rules: [{ module: 'kv-counter', publisher: PUBLISHER_A, capabilities: DECLARED }] },
    { strict: true },
  );
  const rights = effectiveRights({
    declared: DECLARED,
    granted: grantedTo(grants, { name: 'kv-counter', publisher: PUBLISHER_A }),
    allowDebug: grants.allowDebug,
  });
  assert.deepEqual(rights, DECLARED);
  assert.deepEqual(await visit('home', rights), {
    status: 200,
    body: { key: 'home', count: 1 },
    code: undefined,
  });
  assert.deepEqual((await visit('home', rights)).body, { key: 'home', count: 2 });
  assert.deepEqual((await visit('about', rights)).body, { key: 'about', count: 1 });
  assert.deepEqual((await visit(null, rights)).body, { key: 'default', count: 1 });
  assert.deepEqual((await visit('home', rights)).body, { key: 'home', count: 3 });
});

void test('another module — same name under another publisher — has its own counters', async () => {
  const other = moduleIdentity('kv-counter', PUBLISHER_B);
  assert.deepEqual((await visit('shared', DECLARED)).body, { key: 'shared', count: 1 });
  assert.deepEqual((await visit('shared', DECLARED, other)).body, { key: 'shared', count: 1 });
  assert.deepEqual((await visit('shared', DECLARED)).body, { key: 'shared', count: 2 });
});

void test('a stored value longer than the first output buffer arrives through result_take', async () => {
  const module = moduleIdentity('kv-counter');
  await kv.kv.set(
    module,
    new TextEncoder().encode('counter/big'),
    new Uint8Array(5000).fill(0x37),
    DEFAULT_KV_LIMITS,
  );
  // 5000 sevens is not a count the example accepts (over 18 digits): it starts again at 1,
  // which it can only do after reading the whole value.
  assert.deepEqual((await visit('big', DECLARED)).body, { key: 'big', count: 1 });
});

void test('declared but not granted: no kv.write grant means the counter does not instantiate', async () => {
  const grants = parseGrants(
    { rules: [{ module: 'kv-counter', capabilities: { 'kv.read': { prefixes: ['counter/'] } } }] },
    { strict: false },
  );
  const rights = effectiveRights({
    declared: DECLARED,
    granted: grantedTo(grants, { name: 'kv-counter', publisher: PUBLISHER_A }),
    allowDebug: false,
  });
  const result = await visit('home', rights);
  assert.equal(result.code, 'capability_denied');
});

void test('out of scope: a grant for other prefixes leaves the counter linked but every call denied and logged', async () => {
  const rights = effectiveRights({
    declared: { 'kv.read': { prefixes: [''] }, 'kv.write': { prefixes: [''] } },
    granted: { 'kv.read': { prefixes: ['other/'] }, 'kv.write': { prefixes: ['other/'] } },
    allowDebug: false,
  });
  const before = h.records.length;
  assert.deepEqual(await visit('home', rights), { status: 403, body: { error: 'denied' }, code: undefined });
  const security = h.records.slice(before).filter((r) => r.type === 'security');
  assert.equal(security.length, 1);
  assert.equal(JSON.stringify(security).includes('home'), false, 'the key is not in the log');
});

void test('not declared: the manifest check refuses the counter’s imports unless kv.read and kv.write are declared', () => {
  const imports = readModuleImports(bytes);
  assert.deepEqual(checkImports(imports, DECLARED), ['kv.read', 'kv.write']);
  assert.throws(
    () => checkImports(imports, { 'kv.read': { prefixes: ['counter/'] } }),
    (error: unknown) =>
      error instanceof GojinnError &&
      error.code === 'capability_denied' &&
      /gojinn\.kv_set needs capability kv\.write, which the manifest does not declare/.test(error.message),
  );
});
