/**
 * The example guests (examples/*, built by `npm run build:guests`): what they import and
 * export, and what they answer, run under Node's own node:wasi as an independent reference host.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { classifyImport } from '@gojinn/abi';
import {
  EXAMPLE_GUESTS,
  START_SECTION_ID,
  compileExample,
  memoryLimits,
  readExample,
  readSections,
  type ExampleGuest,
} from './support/guests.ts';
import { runWithNodeWasi } from './support/reference-wasi.ts';

interface GuestResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

function request(fields: {
  method?: string;
  uri?: string;
  headers?: Record<string, string>;
  body?: string;
}): string {
  return JSON.stringify({
    method: fields.method ?? 'GET',
    uri: fields.uri ?? '/',
    headers: fields.headers ?? {},
    body: fields.body ?? '',
    trace_id: '0123456789abcdef0123456789abcdef',
  });
}

/** Runs an example on `stdin` and returns its parsed response (the run must end normally). */
function invoke(name: ExampleGuest, stdin: string | Uint8Array): GuestResponse {
  const run = runWithNodeWasi(compileExample(name), stdin);
  assert.equal(run.error, undefined, `${name} threw: ${run.error?.message}`);
  assert.equal(run.exitCode, 0, `${name} exited with ${run.exitCode}; stderr: ${run.stderr.toString()}`);
  return JSON.parse(run.stdout.toString('utf8')) as GuestResponse;
}

function jsonBody(response: GuestResponse): unknown {
  assert.equal(response.headers['content-type'], 'application/json');
  return JSON.parse(response.body);
}

/** Exports every example must have beside memory and _start. */
const EXTRA_EXPORTS: Record<ExampleGuest, string[]> = {
  fib: ['fib'],
  hello: [],
  'http-proxy': [],
  inspect: [],
  'kv-counter': [],
  notes: [],
  'secret-user': [],
  sha256: ['bench'],
};

void describe('example guests are WASI commands that import only what the sandbox offers', () => {
  for (const name of EXAMPLE_GUESTS) {
    void test(name, () => {
      const bytes = readExample(name);
      assert.ok(WebAssembly.validate(bytes), `${name}.wasm is not valid WebAssembly`);
      const module = compileExample(name);
      for (const entry of WebAssembly.Module.imports(module)) {
        assert.equal(
          entry.kind,
          'function',
          `${name} imports a ${entry.kind}: ${entry.module}.${entry.name}`,
        );
        const requirement = classifyImport(entry.module, entry.name);
        assert.notEqual(requirement.kind, 'unknown', `${name} imports ${entry.module}.${entry.name}`);
      }
      const exports = WebAssembly.Module.exports(module);
      assert.deepEqual(
        exports.map((e) => `${e.name}:${e.kind}`).sort(),
        ['memory:memory', '_start:function', ...EXTRA_EXPORTS[name].map((e) => `${e}:function`)].sort(),
      );
      // Nothing may run at instantiation: all code runs from _start, metered.
      assert.ok(!readSections(bytes).some((s) => s.id === START_SECTION_ID), `${name} has a start section`);
    });
  }

  void test('hello keeps to one page of memory (cheap to instantiate fresh for every call)', () => {
    assert.equal(memoryLimits(readExample('hello'))?.initial, 1);
  });
});

void describe('hello', () => {
  void test('greets the name from the query and echoes method and uri', () => {
    const response = invoke('hello', request({ method: 'GET', uri: '/hello?name=Ada' }));
    assert.equal(response.status, 200);
    assert.deepEqual(jsonBody(response), { hello: 'Ada', method: 'GET', uri: '/hello?name=Ada', echo: null });
  });

  void test('greets "world" without a name', () => {
    assert.deepEqual(jsonBody(invoke('hello', request({ uri: '/' }))), {
      hello: 'world',
      method: 'GET',
      uri: '/',
      echo: null,
    });
  });

  void test('takes the name from a JSON body and echoes the body as JSON', () => {
    const body = { name: 'Bo', tags: ['a', 'b'], nested: { n: 1.5, ok: true, none: null } };
    const response = invoke('hello', request({ method: 'POST', body: JSON.stringify(body) }));
    assert.deepEqual(jsonBody(response), { hello: 'Bo', method: 'POST', uri: '/', echo: body });
  });

  void test('the query name wins over the body name', () => {
    const response = invoke('hello', request({ uri: '/?name=Query', body: '{"name":"Body"}' }));
    assert.equal((jsonBody(response) as { hello: string }).hello, 'Query');
  });

  void test('decodes a percent-encoded UTF-8 name, including characters outside the BMP', () => {
    const name = 'Zoë 😀 + ünïcödé';
    const response = invoke('hello', request({ uri: `/?name=${encodeURIComponent(name)}` }));
    assert.equal((jsonBody(response) as { hello: string }).hello, name);
  });

  void test('echoes a body that is not JSON (or has data after the JSON value) as a string', () => {
    for (const body of ['plain "text"\n\u0001', '{"name":"x"} trailing', '{"name":', '01']) {
      const response = invoke('hello', request({ method: 'POST', body }));
      assert.deepEqual(jsonBody(response), { hello: 'world', method: 'POST', uri: '/', echo: body }, body);
    }
  });

  void test('a name that is not a string in the body is ignored', () => {
    const response = invoke('hello', request({ method: 'POST', body: '{"name":42}' }));
    assert.equal((jsonBody(response) as { hello: string }).hello, 'world');
  });

  void test('answers 400 with the reason when stdin is not a request', () => {
    const cases: [stdin: string, reason: RegExp][] = [
      ['', /unexpected end of input/],
      ['not json', /expected '\{' at byte 0/],
      ['{"method":"GET"} {}', /unexpected data after the JSON value/],
      ['{"method":7}', /request field 'method' must be a string/],
      ['{"headers":{"a":1}}', /header 'a' must have a string value/],
      ['{"headers":[]}', /expected '\{'/],
      ['{"body":"\\x"}', /invalid escape/],
      ['{"uri":"/', /unterminated string/],
    ];
    for (const [stdin, reason] of cases) {
      const response = invoke('hello', stdin);
      assert.equal(response.status, 400, stdin);
      const { error } = JSON.parse(response.body) as { error: string };
      assert.match(error, reason, stdin);
    }
  });
});

void describe('sha256', () => {
  const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');
  const generated = (length: number): Uint8Array => Uint8Array.from({ length }, (_, i) => i & 0xff);

  void test('hashes the body repeated n times', () => {
    const response = invoke('sha256', request({ method: 'POST', uri: '/?n=3', body: 'abc' }));
    assert.deepEqual(jsonBody(response), { sha256: sha256('abcabcabc'), bytes: 9 });
  });

  void test('hashes the body as UTF-8', () => {
    const body = 'é😀\u0000';
    const response = invoke('sha256', request({ method: 'POST', body }));
    assert.deepEqual(jsonBody(response), { sha256: sha256(Buffer.from(body, 'utf8')), bytes: 7 });
  });

  void test('hashes generated bytes across block and chunk boundaries', () => {
    for (const size of [0, 55, 56, 63, 64, 1023, 1024, 1025, 1048577]) {
      const response = invoke('sha256', request({ uri: `/?size=${size}` }));
      assert.deepEqual(jsonBody(response), { sha256: sha256(generated(size)), bytes: size }, `size ${size}`);
    }
  });

  void test('n is bounded (MAX_REPEAT = 4096): 4096 is accepted, 4097 and non-numbers are refused', () => {
    assert.equal(invoke('sha256', request({ uri: '/?n=4096', body: 'a' })).status, 200);
    for (const n of ['4097', '-1', 'x', '', '1e3']) {
      const response = invoke('sha256', request({ uri: `/?n=${n}`, body: 'a' }));
      assert.equal(response.status, 400, `n=${n}`);
      assert.match(response.body, /n must be an integer from 0 to 4096/);
    }
  });

  void test('size is bounded (MAX_GENERATED_BYTES = 64 MiB): 64 MiB is hashed, one byte more refused', () => {
    const limit = 64 * 1024 * 1024;
    assert.deepEqual(jsonBody(invoke('sha256', request({ uri: `/?size=${limit}` }))), {
      sha256: sha256(generated(limit)),
      bytes: limit,
    });
    const response = invoke('sha256', request({ uri: `/?size=${64 * 1024 * 1024 + 1}` }));
    assert.equal(response.status, 400);
    assert.match(response.body, /size must be an integer from 0 to 67108864/);
  });

  void test('bench(kibibytes) hashes generated bytes without any WASI call, even before _start', () => {
    // Imports that fail loudly: bench must not reach them.
    const refuse = (): never => {
      throw new Error('bench called a WASI function');
    };
    const imports: WebAssembly.Imports = { wasi_snapshot_preview1: {} };
    for (const entry of WebAssembly.Module.imports(compileExample('sha256'))) {
      (imports[entry.module] as Record<string, unknown>)[entry.name] = refuse;
    }
    const instance = new WebAssembly.Instance(compileExample('sha256'), imports);
    const bench = instance.exports.bench as (kibibytes: number) => number;
    for (const kibibytes of [0, 1, 1024]) {
      const expected = Buffer.from(sha256(generated(kibibytes * 1024)), 'hex').readInt32BE(0);
      assert.equal(bench(kibibytes), expected, `bench(${kibibytes})`);
    }
  });
});

void describe('fib', () => {
  void test('answers fib(n) from the query, 20 by default', () => {
    assert.deepEqual(jsonBody(invoke('fib', request({ uri: '/?n=25' }))), { n: 25, fib: 75025 });
    assert.deepEqual(jsonBody(invoke('fib', request({}))), { n: 20, fib: 6765 });
  });

  void test('n is bounded (MAX_N = 40): 40 is computed, 41 refused', () => {
    assert.deepEqual(jsonBody(invoke('fib', request({ uri: '/?n=40' }))), { n: 40, fib: 102334155 });
    for (const n of ['41', '-1', 'abc', '07']) {
      assert.equal(invoke('fib', request({ uri: `/?n=${n}` })).status, 400, `n=${n}`);
    }
  });

  void test('the exported fib runs without WASI', () => {
    const imports: WebAssembly.Imports = {};
    for (const entry of WebAssembly.Module.imports(compileExample('fib'))) {
      imports[entry.module] ??= {};
      (imports[entry.module] as Record<string, unknown>)[entry.name] = () => {
        throw new Error('fib called a WASI function');
      };
    }
    const instance = new WebAssembly.Instance(compileExample('fib'), imports);
    const fib = instance.exports.fib as (n: number) => bigint;
    assert.deepEqual(
      [0, 1, 2, 10, 30].map((n) => fib(n)),
      [0n, 1n, 1n, 55n, 832040n],
    );
  });
});
