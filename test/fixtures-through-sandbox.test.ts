/**
 * The fixtures and example guests through the real sandbox (prepare + in-thread runtime):
 * every WAT fixture ends with exactly the code its header's `Expect:` line names, and every
 * example answers through our WASI shim exactly what it answers under node:wasi. This pins the
 * fixture headers to the sandbox, and the sandbox's WASI to an independent implementation.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { GojinnError } from '@gojinn/errors';
import {
  DEFAULT_INVOCATION_LIMITS,
  DEFAULT_MODULE_LIMITS,
  WASM_PAGE_BYTES,
} from '../packages/sandbox/src/limits.ts';
import {
  buildRequest,
  encodeRequest,
  runInvocation,
  type HostImports,
  type InvocationOutcome,
} from '../packages/sandbox/src/runtime/index.ts';
import { prepareWasm } from '../packages/sandbox/src/wasm/index.ts';
import { compileExample, readExample, type ExampleGuest } from './support/guests.ts';
import { runWithNodeWasi } from './support/reference-wasi.ts';
import { listFixtures, loadFixture, readFixtureHeader } from './support/wat.ts';

/** Enough for every fixture that ends on its own (memory-cpu-hungry needs ~1.1e8), small enough that loops stop fast. */
const FUEL = 200_000_000n;
const SEED = '5eed'.repeat(16);

function invoke(
  bytes: Uint8Array,
  stdin: Uint8Array,
  options: { granted?: string[]; host?: HostImports } = {},
): InvocationOutcome | GojinnError {
  const limits = { ...DEFAULT_INVOCATION_LIMITS, fuel: FUEL };
  try {
    const prepared = prepareWasm(bytes, {
      limits: DEFAULT_MODULE_LIMITS,
      memoryCeilingPages: limits.memoryBytes / WASM_PAGE_BYTES,
    });
    const spec = {
      moduleHash: createHash('sha256').update(bytes).digest('hex'),
      stdin,
      limits,
      seed: SEED,
      granted: (options.granted ?? []) as never,
    };
    return runInvocation(
      new WebAssembly.Module(prepared.bytes),
      { memory: prepared.info.memory },
      spec,
      options.host,
    );
  } catch (error) {
    if (error instanceof GojinnError) return error; // refused while preparing
    throw error;
  }
}

function codeOf(result: InvocationOutcome | GojinnError): string {
  if (result instanceof GojinnError) return result.code;
  return result.ok ? 'ok' : (result.error?.code ?? 'no error code');
}

const EMPTY_GET = encodeRequest(buildRequest({ trace_id: '0'.repeat(32) }));

void describe('every WAT fixture ends with the code its header names', () => {
  for (const name of listFixtures()) {
    void test(name, async () => {
      const { expect } = readFixtureHeader(name);
      const result = invoke(await loadFixture(name), EMPTY_GET);
      const message = result instanceof GojinnError ? result.message : result.error?.message;
      assert.equal(codeOf(result), expect, `${name}: ${message ?? ''}`);
    });
  }

  void test('import-gojinn-kv-get links and responds once kv.read is granted and kv_get provided', async () => {
    const result = invoke(await loadFixture('import-gojinn-kv-get'), EMPTY_GET, {
      granted: ['kv.read'],
      host: { kv_get: () => 0 },
    });
    assert.equal(codeOf(result), 'ok');
  });

  void test('the file-system and socket attempts get errnos, never data', async () => {
    const expected: Record<string, RegExp> = {
      'wasi-path-open': /^path_open errno [1-9]\d* [1-9]\d*$/,
      'wasi-sockets': /^sock_accept errno [1-9]\d* sock_recv errno [1-9]\d*$/,
    };
    for (const [name, body] of Object.entries(expected)) {
      const result = invoke(await loadFixture(name), EMPTY_GET);
      assert.ok(!(result instanceof GojinnError) && result.ok, name);
      assert.match(result.response?.body ?? '', body, name);
    }
  });
});

void describe('example guests answer the same through the sandbox as under node:wasi', () => {
  const requests: [ExampleGuest, Parameters<typeof buildRequest>[0]][] = [
    ['hello', { uri: '/hello?name=Ada%20%F0%9F%98%80' }],
    ['hello', { method: 'POST', body: '{"name":"Bo","list":[1,2.5,"\\u00e9"]}' }],
    ['sha256', { uri: '/?n=3', body: 'abc' }],
    ['sha256', { uri: '/?size=100000' }],
    ['fib', { uri: '/?n=22' }],
    ['inspect', { uri: '/p?a=1&b=%E2%82', headers: { 'x-a': 'é\u0000' }, body: '[1e-7,{"k":null}]' }],
  ];
  for (const [name, fields] of requests) {
    void test(`${name} ${JSON.stringify(fields)}`, () => {
      const stdin = encodeRequest(buildRequest({ trace_id: 'f'.repeat(32), ...fields }));
      const reference = runWithNodeWasi(compileExample(name), stdin, {
        imports: { gojinn: { log: () => 0 } },
      });
      assert.equal(reference.exitCode, 0, reference.error?.message);
      const result = invoke(readExample(name), stdin, { host: { log: () => 0 } });
      assert.ok(!(result instanceof GojinnError), `refused: ${String(result)}`);
      assert.equal(result.error, undefined, result.error?.message);
      const expected = JSON.parse(reference.stdout.toString('utf8')) as unknown;
      assert.deepEqual(result.response, expected);
    });
  }
});
