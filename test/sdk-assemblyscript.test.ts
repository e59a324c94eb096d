/**
 * The AssemblyScript SDK (packages/sdk-assemblyscript), tested through the `inspect` example,
 * which answers with the request as the SDK parsed it and re-encodes a JSON body value by
 * value. Whatever the SDK gets wrong — escapes, surrogates, UTF-8, numbers, nesting, query
 * decoding — shows up as a difference from what JSON.parse / encodeURIComponent say.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileExample } from './support/guests.ts';
import { runWithNodeWasi } from './support/reference-wasi.ts';

/** The SDK's MAX_JSON_DEPTH (packages/sdk-assemblyscript/assembly/json-reader.ts). */
const MAX_JSON_DEPTH = 64;
/** The SDK's STDIN_FIRST_READ_BYTES (stdio.ts): the first read; bigger requests take more reads. */
const STDIN_FIRST_READ_BYTES = 4096;

interface Inspection {
  method: string;
  uri: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  body: string;
  trace_id: string;
  json: unknown;
  json_error: string | null;
}

interface RequestFields {
  method: string;
  uri: string;
  headers: Record<string, string>;
  body: string;
  trace_id: string;
}

interface LogLine {
  level: number;
  message: string;
}

/** Runs inspect with a `gojinn.log` that records what it is given (inspect imports it). */
function runInspect(stdin: string | Uint8Array, logs: LogLine[] = []): ReturnType<typeof runWithNodeWasi> {
  return runWithNodeWasi(compileExample('inspect'), stdin, {
    imports: (memory) => ({
      gojinn: {
        log: (level: number, ptr: number, length: number): number => {
          logs.push({ level, message: Buffer.from(memory().buffer, ptr, length).toString('utf8') });
          return 0;
        },
      },
    }),
  });
}

function inspectRaw(stdin: string | Uint8Array): { status: number; inspection: Inspection; error?: string } {
  const run = runInspect(stdin);
  assert.equal(run.error, undefined, `inspect threw: ${run.error?.message}`);
  assert.equal(run.exitCode, 0, `inspect exited with ${run.exitCode}: ${run.stderr.toString()}`);
  const response = JSON.parse(run.stdout.toString('utf8')) as { status: number; body: string };
  const body = JSON.parse(response.body) as Inspection & { error?: string };
  return {
    status: response.status,
    inspection: body,
    ...(body.error === undefined ? {} : { error: body.error }),
  };
}

/** Inspects a request and asserts the SDK accepted it. */
function inspect(stdin: string | Uint8Array): Inspection {
  const { status, inspection, error } = inspectRaw(stdin);
  assert.equal(status, 200, `request refused: ${error}`);
  return inspection;
}

function request(fields: Partial<RequestFields>): string {
  return JSON.stringify({ method: 'GET', uri: '/', headers: {}, body: '', trace_id: 't', ...fields });
}

/** JSON text with every non-ASCII or control code unit written as a \uXXXX escape. */
function escapeNonAscii(json: string, upperCaseHex: boolean): string {
  // eslint-disable-next-line no-control-regex -- escaping control characters is the point
  return json.replace(/[\u0000-\u001f\u007f-\uffff]/g, (unit) => {
    const hex = unit.charCodeAt(0).toString(16).padStart(4, '0');
    return `\\u${upperCaseHex ? hex.toUpperCase() : hex}`;
  });
}

/** Strings of any UTF-16 code units: astral characters, lone surrogates, controls, quotes. */
const anyText = fc.string({
  unit: fc.oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.nat({ max: 0xffff }).map((unit) => String.fromCharCode(unit)),
    fc.constantFrom('"', '\\', '/', '\n', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udfff'),
  ),
  maxLength: 40,
});

// Header names compare case-insensitively in the SDK, so generated names are distinct ignoring case.
const asciiLower = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());
const anyHeaders = fc
  .uniqueArray(fc.tuple(anyText, anyText), { maxLength: 6, selector: ([name]) => asciiLower(name) })
  .map((entries) => JSON.parse(JSON.stringify(Object.fromEntries(entries))) as Record<string, string>);

const anyRequest = fc.record({
  method: anyText,
  uri: anyText,
  headers: anyHeaders,
  body: anyText,
  trace_id: anyText,
});

function assertParsedAs(inspection: Inspection, fields: RequestFields): void {
  assert.equal(inspection.method, fields.method);
  assert.equal(inspection.uri, fields.uri);
  assert.equal(inspection.path, fields.uri.split(/[?#]/)[0]);
  assert.deepEqual(inspection.headers, fields.headers);
  assert.equal(inspection.body, fields.body);
  assert.equal(inspection.trace_id, fields.trace_id);
}

void describe('request strings survive the SDK reader and writer unchanged', () => {
  void test('sent as UTF-8 (JSON.stringify)', () => {
    fc.assert(
      fc.property(anyRequest, (fields) => assertParsedAs(inspect(JSON.stringify(fields)), fields)),
      { numRuns: 150 },
    );
  });

  void test('sent as ASCII with \\uXXXX escapes (surrogate pairs as escaped pairs), either hex case', () => {
    fc.assert(
      fc.property(anyRequest, fc.boolean(), (fields, upper) =>
        assertParsedAs(inspect(escapeNonAscii(JSON.stringify(fields), upper)), fields),
      ),
      { numRuns: 150 },
    );
  });

  void test('every control character, quote and backslash comes back as valid JSON', () => {
    const body = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)).join('') + '"\\/\u007f\u2028';
    assert.equal(inspect(request({ body })).body, body);
  });

  void test('lone surrogates are kept (as escapes), pairs become 4-byte UTF-8', () => {
    const body = '\ud800x\udc00\ud83d\ude00\udbff';
    const stdout = runInspect(request({ body })).stdout;
    assert.ok(stdout.includes(Buffer.from('😀', 'utf8')), 'the pair is written as UTF-8');
    assert.ok(!stdout.toString('latin1').includes('ud83d'), 'the pair is not escaped');
    // The body is escaped twice (inside the inspect JSON, then inside the response's body string).
    for (const lone of ['ud800', 'udc00', 'udbff']) assert.ok(stdout.includes(`\\\\${lone}`), lone);
    assert.equal(inspect(request({ body })).body, body);
  });
});

void describe('host function wrappers', () => {
  void test('log(level, message) hands gojinn.log the level and the UTF-8 bytes of the message', () => {
    const logs: LogLine[] = [];
    const uri = '/é?q=😀';
    const run = runInspect(request({ method: 'PATCH', uri, headers: { 'x-inspect-log': '1' } }), logs);
    assert.equal(run.exitCode, 0);
    assert.deepEqual(logs, [{ level: 1, message: `inspect: PATCH ${uri}` }]);
  });

  void test("nothing is logged unless asked (the wrapper is not called behind the guest's back)", () => {
    const logs: LogLine[] = [];
    runInspect(request({}), logs);
    assert.deepEqual(logs, []);
  });
});

void describe('request parsing', () => {
  void test('unknown fields of every kind are skipped', () => {
    const stdin =
      '{"extra":{"deep":[1,2,{"x":"y","z":[[],{}]}]},"method":"PUT","n":-1.5e3,"t":true,"f":false,"z":null,' +
      '"s":"\\u00e9\\n","uri":"/u","a":[]}';
    const inspection = inspect(stdin);
    assert.equal(inspection.method, 'PUT');
    assert.equal(inspection.uri, '/u');
  });

  void test('missing fields read as empty; a repeated field keeps its last value (as JSON.parse)', () => {
    const inspection = inspect('{"method":"A","method":"B"}');
    assert.equal(inspection.method, 'B');
    assert.equal(inspection.uri, '');
    assert.equal(inspection.body, '');
    assert.deepEqual(inspection.headers, {});
  });

  void test('header names are case-insensitive: a later field replaces an earlier one', () => {
    assert.deepEqual(inspect('{"headers":{"X-Token":"1","x-token":"2","other":"3"}}').headers, {
      'x-token': '2',
      other: '3',
    });
  });

  void test('whitespace anywhere between tokens is accepted', () => {
    const inspection = inspect(' \n\t{ "method" :\r"GET" , "headers" : { "a" : "b" } } \n');
    assert.equal(inspection.method, 'GET');
    assert.deepEqual(inspection.headers, { a: 'b' });
  });

  void test('malformed UTF-8 is refused with the byte offset; valid 4-byte sequences pass', () => {
    const withBytes = (bytes: number[]): Uint8Array =>
      Buffer.concat([Buffer.from('{"method":"'), Buffer.from(bytes), Buffer.from('"}')]);
    const malformed = [
      [0xff],
      [0x80],
      [0xc0, 0xaf], // overlong '/'
      [0xc2], // truncated
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // encoded surrogate
      [0xe2, 0x82], // truncated
      [0xf0, 0x80, 0x80, 0xaf], // overlong
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xf8, 0x88, 0x80, 0x80, 0x80],
    ];
    for (const bytes of malformed) {
      const { status, error } = inspectRaw(withBytes(bytes));
      assert.equal(status, 400, bytes.join(','));
      assert.match(error ?? '', /malformed UTF-8 in string at byte 11/, bytes.join(','));
    }
    assert.equal(inspect(withBytes([0xf0, 0x9f, 0x98, 0x80])).method, '😀');
    assert.equal(inspect(withBytes([0xf4, 0x8f, 0xbf, 0xbf])).method, '\u{10ffff}');
    assert.equal(inspect(withBytes([0xef, 0xbf, 0xbf])).method, '\uffff');
  });

  void test('requests around the first stdin read size and far beyond it are read whole', () => {
    const overhead = request({ body: '' }).length;
    for (const size of [
      STDIN_FIRST_READ_BYTES - 1,
      STDIN_FIRST_READ_BYTES,
      STDIN_FIRST_READ_BYTES + 1,
      1 << 20,
    ]) {
      const body = 'b'.repeat(size - overhead);
      const stdin = request({ body });
      assert.equal(stdin.length, size);
      assert.equal(inspect(stdin).body.length, body.length, `stdin of ${size} bytes`);
    }
  });
});

void describe('JSON values survive the SDK reader and writer', () => {
  // What JSON.parse makes of it after a JSON.stringify round (Infinity ⇒ null, -0 ⇒ 0).
  const normalised = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

  void test('any JSON value, compact or indented', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.boolean(), (value, indent) => {
        const body = JSON.stringify(value, null, indent ? 2 : undefined);
        const inspection = inspect(request({ body }));
        assert.equal(inspection.json_error, null);
        assert.deepEqual(inspection.json, normalised(value));
      }),
      { numRuns: 200 },
    );
  });

  void test('doubles of every magnitude keep their exact value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 20 }),
        (numbers) => {
          const inspection = inspect(request({ body: JSON.stringify(numbers) }));
          assert.deepEqual(inspection.json, normalised(numbers));
        },
      ),
      { numRuns: 100 },
    );
  });

  void test('number edge cases', () => {
    const texts = [
      '0',
      '-0',
      '1',
      '-1',
      '0.1',
      '1e21',
      '1E+2',
      '1e-7',
      '-0.0e-0',
      '5e-324',
      '2.2250738585072014e-308',
      '1.7976931348623157e308',
      '9007199254740993',
      '123456789012345678901234567890',
      '0.30000000000000004',
      '1e400',
      '-1e400',
      '4.35',
      '100000000000000000000',
      '1e-400',
      // More significant digits than the converter keeps exactly (MAX_DIGITS = 800).
      `1${'0'.repeat(900)}e-900`,
      `0.${'0'.repeat(799)}1e800`,
      `9007199254740993${'0'.repeat(800)}1e-801`, // a hair above halfway: rounds up because of the last digit
      `9007199254740993${'0'.repeat(800)}e-800`, // exactly halfway: rounds to even (down)
    ];
    for (const text of texts) {
      const inspection = inspect(request({ body: `[${text}]` }));
      assert.equal(inspection.json_error, null, text);
      assert.deepEqual(inspection.json, normalised(JSON.parse(`[${text}]`)), text);
    }
  });

  void test(`nesting up to MAX_JSON_DEPTH (${MAX_JSON_DEPTH}) is read; one level more is an error`, () => {
    const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);
    // The request object itself is read with a reader of its own; the body reader starts at depth 0.
    assert.deepEqual(
      inspect(request({ body: nested(MAX_JSON_DEPTH) })).json,
      JSON.parse(nested(MAX_JSON_DEPTH)),
    );
    const tooDeep = inspect(request({ body: nested(MAX_JSON_DEPTH + 1) }));
    assert.equal(tooDeep.json, null);
    assert.match(tooDeep.json_error ?? '', /nesting deeper than MAX_JSON_DEPTH \(64\) at byte 64/);
    const objects = '{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1);
    assert.match(inspect(request({ body: objects })).json_error ?? '', /nesting deeper than MAX_JSON_DEPTH/);
  });

  void test('accepts exactly what JSON.parse accepts on a corpus of edge cases', () => {
    const corpus = [
      '',
      ' ',
      '01',
      '-01',
      '1.',
      '.5',
      '-',
      '+1',
      '1e',
      '1e+',
      '1.e3',
      '0x10',
      'tru',
      'truex',
      'nul',
      'NaN',
      'Infinity',
      '-Infinity',
      '[1,]',
      '[,1]',
      '[1 2]',
      '{"a":1,}',
      '{,}',
      '{a:1}',
      "{'a':1}",
      '{"a" 1}',
      '{"a":1 "b":2}',
      '{"a"}',
      '1 2',
      '"abc',
      '"\t"',
      '"\n"',
      '"\\x"',
      '"\\u12"',
      '"\\u12G4"',
      '"\\U0041"',
      '"\\',
      '[',
      ']',
      '{',
      '}',
      '\u00a0[]',
      '\u00a0',
      '\ufeff[]',
      '[]]',
      '{"a":1}}',
      '"\u2028"',
      '"\\/"',
      '"\\ud83d\\ude00"',
      '"\\uD83D"',
      '"\\udc00\\ud800"',
      ' \n\r\t[ ] ',
      '{"":""}',
      '{"a":{"a":{"a":[]}}}',
      'true',
      'false',
      'null',
      '[true,false,null]',
      '"\u0000"',
      '[1e5,-2.5E-3,0e0,-0]',
      '1e309',
      '[-]',
    ];
    for (const text of corpus) {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      const inspection = inspect(request({ body: text }));
      if (valid) {
        assert.equal(inspection.json_error, null, `SDK refused valid JSON ${JSON.stringify(text)}`);
        assert.deepEqual(inspection.json, normalised(JSON.parse(text)), JSON.stringify(text));
      } else {
        assert.equal(inspection.json, null, `SDK accepted invalid JSON ${JSON.stringify(text)}`);
        assert.match(inspection.json_error ?? '', / at byte \d+$/, JSON.stringify(text));
      }
    }
  });
});

void describe('query parameters', () => {
  void test('decode as encodeURIComponent encoded them, in order, with + as a space', () => {
    const wellFormed = fc.string({ unit: 'binary', maxLength: 12 }); // no lone surrogates: those cannot be percent-encoded
    fc.assert(
      fc.property(
        fc.array(fc.tuple(wellFormed, wellFormed), { maxLength: 5 }),
        fc.boolean(),
        (pairs, plusForSpace) => {
          const encode = (text: string): string =>
            plusForSpace ? encodeURIComponent(text).replace(/%20/g, '+') : encodeURIComponent(text);
          const query = pairs.map(([name, value]) => `${encode(name)}=${encode(value)}`).join('&');
          const inspection = inspect(request({ uri: `/p?${query}#fragment` }));
          assert.deepEqual(inspection.query, pairs, `query ${query}`);
          assert.equal(inspection.path, '/p');
        },
      ),
      { numRuns: 100 },
    );
  });

  void test('edge cases: empty pairs skipped, names without "=", bad escapes kept, bad UTF-8 replaced', () => {
    const cases: [uri: string, query: [string, string][]][] = [
      ['/', []],
      ['/?', []],
      ['/?&&a=1&&', [['a', '1']]],
      ['/?flag', [['flag', '']]],
      ['/?a=1=2', [['a', '1=2']]],
      [
        '/?a=%zz&b=%4&c=%',
        [
          ['a', '%zz'],
          ['b', '%4'],
          ['c', '%'],
        ],
      ],
      ['/?a=%41%42%43', [['a', 'ABC']]],
      ['/?a=%e2%82', [['a', '\ufffd\ufffd']]],
      ['/?a=%ff', [['a', '\ufffd']]],
      ['/?a=%C3%A9', [['a', 'é']]],
      ['/?a=1#b=2', [['a', '1']]],
      ['/?a=1+2%2B3', [['a', '1 2+3']]],
      ['/path#frag?x=1', []],
    ];
    for (const [uri, query] of cases) assert.deepEqual(inspect(request({ uri })).query, query, uri);
  });
});
