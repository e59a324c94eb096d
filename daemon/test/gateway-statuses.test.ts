/**
 * Every error code to its HTTP status, over HTTP: guests that really fail in the sandbox
 * (trap, exit, bad response, output, fuel, memory, stack, timeout), each code a resolver can
 * throw, errors without a code (500, details withheld), and the guest response headers the
 * gateway refuses to pass on.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, GojinnError } from '@gojinn/errors';
import { readExample } from '../../test/support/guests.ts';
import { assembleWat, loadFixture } from '../../test/support/wat.ts';
import { STATUS_BY_CODE, TRACE_ID_HEADER, createGateway, listen } from '../src/gateway/index.ts';
import { call, errorCode, openNode, serveNode, type Node } from './gateway-fixtures.ts';

let node: Node;
const closers: (() => Promise<void>)[] = [];

/** A WASI command writing `json` to stdout. */
function responder(json: string): Promise<Uint8Array> {
  // Every byte as a WAT \hh escape: quotes, backslashes and UTF-8 arrive exactly.
  const escaped = [...Buffer.from(json, 'utf8')]
    .map((byte) => `\\${byte.toString(16).padStart(2, '0')}`)
    .join('');
  return assembleWat(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "${escaped}")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const ${Buffer.byteLength(json)}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`);
}

const GUEST_FAILURES = [
  ['unreachable', 'trap'],
  ['proc-exit-3', 'guest_exit'],
  ['stdout-not-json', 'bad_response'],
  ['stdout-flood', 'output_limit'],
  ['loop-in-start-export', 'fuel_exhausted'],
  ['memory-grow-bomb', 'memory_limit'],
  ['deep-recursion', 'stack_overflow'],
] as const;

before(async () => {
  node = await openNode();
  for (const [fixture] of GUEST_FAILURES) await node.install(fixture, await loadFixture(fixture));
  await node.install(
    'headers',
    await responder(
      JSON.stringify({
        status: 201,
        headers: {
          'Content-Type': 'text/plain',
          'X-Kept': 'yes',
          'Set-Cookie': 'session=fixed; Path=/',
          'Strict-Transport-Security': 'max-age=31536000',
          'Access-Control-Allow-Origin': '*',
          'Content-Length': '1',
          'X-Gojinn-Trace-Id': 'forged',
        },
        body: 'created ✓',
      }),
    ),
  );
  await node.install('kv-reader', await loadFixture('import-gojinn-kv-get'), '1.0.0', {
    'kv.read': { prefixes: ['app/'] },
  });
  const counterScope = { prefixes: ['counter/'] };
  await node.install('kv-counter', readExample('kv-counter'), '1.0.0', {
    'kv.read': counterScope,
    'kv.write': counterScope,
  });
  await node.install('informational', await responder('{"status":101,"body":"switch"}'));
});
after(async () => {
  for (const close of closers) await close();
  await node.close();
});

const ALL = [
  ...GUEST_FAILURES.map(([fixture]) => fixture),
  'headers',
  'informational',
  'spin',
  'kv-reader',
  'kv-counter',
];

void test('guest failures in the real sandbox are 502 with the sandbox error code', async () => {
  const { listening } = await serveNode(
    node,
    { publicFunctions: ALL },
    { fuel: 20_000_000n, memoryBytes: 4 * 1024 * 1024, maxStdoutBytes: 64 * 1024 },
  );
  closers.push(() => listening.close());
  for (const [fixture, code] of GUEST_FAILURES) {
    const reply = await call(listening.url, `/fn/${fixture}`);
    assert.equal(reply.status, 502, `${fixture}: ${reply.body}`);
    assert.equal(errorCode(reply), code, fixture);
    assert.match(String(reply.headers[TRACE_ID_HEADER]), /^[0-9a-f]{32}$/);
    assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
  }
});

void test('a guest importing a capability this node does not grant it is 403 capability_denied', async () => {
  const { listening } = await serveNode(node, { publicFunctions: ALL });
  closers.push(() => listening.close());
  const reply = await call(listening.url, '/fn/kv-reader');
  assert.equal(reply.status, 403, reply.body);
  assert.equal(errorCode(reply), 'capability_denied');
});

void test('the local resolver runs a function with declared ∩ granted rights, and without the grant refuses it', async () => {
  const scope = { prefixes: ['counter/'] };
  const grants = {
    rules: [{ module: 'kv-counter', capabilities: { 'kv.read': scope, 'kv.write': scope } }],
    allowDebug: false,
  };
  const granted = await serveNode(node, { publicFunctions: ALL }, {}, grants);
  closers.push(() => granted.listening.close());
  const first = await call(granted.listening.url, '/fn/kv-counter?key=gw');
  assert.equal(first.status, 200, first.body);
  assert.deepEqual(JSON.parse(first.body), { key: 'gw', count: 1 });
  const second = await call(granted.listening.url, '/fn/kv-counter?key=gw');
  assert.deepEqual(JSON.parse(second.body), { key: 'gw', count: 2 });

  const ungranted = await serveNode(node, { publicFunctions: ALL });
  closers.push(() => ungranted.listening.close());
  const refused = await call(ungranted.listening.url, '/fn/kv-counter?key=gw');
  assert.equal(refused.status, 403, refused.body);
  assert.equal(errorCode(refused), 'capability_denied');
});

void test('a guest running past its wall-clock timeout is 504 timeout', async () => {
  await node.install('spin', await loadFixture('loop-in-start-export'));
  const { listening } = await serveNode(node, { publicFunctions: ALL }, { timeoutMs: 200 });
  closers.push(() => listening.close());
  const reply = await call(listening.url, '/fn/spin');
  assert.equal(reply.status, 504, reply.body);
  assert.equal(errorCode(reply), 'timeout');
});

void test('response headers: status and body pass, origin-wide and framing headers are dropped', async () => {
  const { listening } = await serveNode(node, { publicFunctions: ALL });
  closers.push(() => listening.close());
  const reply = await call(listening.url, '/fn/headers');
  assert.equal(reply.status, 201, reply.body);
  assert.equal(reply.body, 'created ✓');
  assert.equal(reply.headers['content-type'], 'text/plain');
  assert.equal(reply.headers['x-kept'], 'yes');
  assert.equal(reply.headers['content-length'], String(Buffer.byteLength('created ✓')));
  for (const dropped of ['set-cookie', 'strict-transport-security', 'access-control-allow-origin']) {
    assert.equal(reply.headers[dropped], undefined, dropped);
  }
  assert.match(String(reply.headers[TRACE_ID_HEADER]), /^[0-9a-f]{32}$/);

  const informational = await call(listening.url, '/fn/informational');
  assert.equal(informational.status, 502);
  assert.equal(errorCode(informational), 'bad_response');
});

void test('each error code a resolver throws reaches the caller with its status and code', async () => {
  const gateway = createGateway({
    publicFunctions: ERROR_CODES.map((code) => code.replaceAll('_', '-')),
    resolver: {
      resolve(name) {
        const code = ERROR_CODES.find((candidate) => candidate.replaceAll('_', '-') === name);
        return Promise.reject(new GojinnError(code ?? 'internal', `resolver says ${name}`));
      },
    },
  });
  const listening = await listen(gateway);
  closers.push(() => listening.close());
  for (const code of ERROR_CODES) {
    const reply = await call(listening.url, `/fn/${code.replaceAll('_', '-')}`);
    assert.equal(reply.status, STATUS_BY_CODE[code], code);
    assert.deepEqual(JSON.parse(reply.body), {
      error: { code, message: `resolver says ${code.replaceAll('_', '-')}` },
    });
  }
});

void test('an error without a code is 500 internal: reported to the operator, never shown to the caller', async () => {
  const reported: unknown[] = [];
  const gateway = createGateway({
    publicFunctions: ['broken'],
    resolver: {
      resolve() {
        return Promise.resolve({
          invoke: () => Promise.reject(new Error('/secret/path/master.key unreadable')),
        });
      },
    },
    events: { internalError: (error) => reported.push(error) },
  });
  const listening = await listen(gateway);
  closers.push(() => listening.close());
  const reply = await call(listening.url, '/fn/broken');
  assert.equal(reply.status, 500);
  assert.deepEqual(JSON.parse(reply.body), { error: { code: 'internal', message: 'internal error' } });
  assert.equal(reported.length, 1);
  assert.match(String(reported[0]), /master\.key/);
  assert.equal(gateway.inFlight, 0);
});
