import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HttpFailure } from '../src/http/http-failure.ts';
import { decodeHttpRequest, encodeHttpResponse } from '../src/http/wire.ts';

const limits = { maxRequestBodyBytes: 12 };
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

function refused(value: unknown, message: RegExp, kind = 'bad_request'): void {
  const bytes = value instanceof Uint8Array ? value : encode(value);
  assert.throws(
    () => decodeHttpRequest(bytes, limits),
    (error: unknown) => error instanceof HttpFailure && error.kind === kind && message.test(error.message),
    String(message),
  );
}

void test('a minimal request gets the defaults: GET, no headers, empty body, follow redirects', () => {
  assert.deepEqual(decodeHttpRequest(encode({ url: 'https://a.test/' }), limits), {
    method: 'GET',
    url: 'https://a.test/',
    headers: [],
    body: new Uint8Array(0),
    redirect: 'follow',
    timeoutMs: undefined,
  });
});

void test('every field decodes; the body is base64', () => {
  const decoded = decodeHttpRequest(
    encode({
      url: 'https://a.test/x',
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'X-Two': 'b' },
      body: Buffer.from('hello').toString('base64'),
      redirect: 'manual',
      timeout_ms: 250,
    }),
    limits,
  );
  assert.equal(decoded.method, 'POST');
  assert.deepEqual(decoded.headers, [
    ['content-type', 'text/plain'],
    ['X-Two', 'b'],
  ]);
  assert.equal(Buffer.from(decoded.body).toString(), 'hello');
  assert.equal(decoded.redirect, 'manual');
  assert.equal(decoded.timeoutMs, 250);
});

void test('the body limit is checked on the base64 text before decoding: 12 bytes pass, 13 do not', () => {
  assert.equal(
    decodeHttpRequest(encode({ url: 'x', body: Buffer.alloc(12).toString('base64') }), limits).body
      .byteLength,
    12,
  );
  refused(
    { url: 'x', body: Buffer.alloc(13).toString('base64') },
    /maxRequestBodyBytes \(12 bytes\)/,
    'request_too_large',
  );
});

void test('malformed requests are refused with a message naming the field', () => {
  refused(new TextEncoder().encode('not json'), /not valid JSON/);
  refused(new Uint8Array([0x7b, 0xff, 0x7d]), /not valid UTF-8/);
  refused(new TextEncoder().encode('{"url":"a","url":"b"}'), /duplicate key/);
  refused(new TextEncoder().encode('{"url":"a","headers":{"x":{"y":"z"}}}'), /nesting deeper than 2/);
  refused([], /must be a JSON object/);
  refused({}, /'url' must be a string/);
  refused({ url: 1 }, /'url' must be a string/);
  refused({ url: 'x', extra: 1 }, /unknown field "extra"/);
  refused({ url: 'x', method: 'get' }, /'method' must be one of/);
  refused({ url: 'x', method: 'CONNECT' }, /'method' must be one of/);
  refused({ url: 'x', headers: [] }, /'headers' must be an object/);
  refused({ url: 'x', headers: { a: 1 } }, /'headers' must be an object of strings/);
  refused({ url: 'x', body: 'aGVsbG8' }, /padded standard base64/);
  refused({ url: 'x', body: 'aGV sbG8=' }, /base64/);
  refused({ url: 'x', body: 'aGVsbG8_' }, /base64/);
  refused({ url: 'x', body: 3 }, /'body' must be a base64 string/);
  refused({ url: 'x', redirect: 'error' }, /'redirect' must be/);
  refused({ url: 'x', timeout_ms: 0 }, /'timeout_ms' must be a positive integer/);
  refused({ url: 'x', timeout_ms: 1.5 }, /'timeout_ms'/);
});

void test('a response encodes to JSON with a base64 body; repeated headers are joined with ", "', () => {
  const bytes = encodeHttpResponse({
    status: 200,
    headers: [
      ['content-type', 'text/plain'],
      ['vary', 'a'],
      ['vary', 'b'],
    ],
    body: new Uint8Array([0, 255, 1]),
    url: 'https://a.test/',
    redirects: 1,
  });
  assert.deepEqual(JSON.parse(new TextDecoder().decode(bytes)), {
    status: 200,
    headers: { 'content-type': 'text/plain', vary: 'a, b' },
    body: 'AP8B',
    url: 'https://a.test/',
    redirects: 1,
  });
});

void test('any body bytes survive the round trip through base64 (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 12 }), (body) => {
      const request = decodeHttpRequest(
        encode({ url: 'x', body: Buffer.from(body).toString('base64') }),
        limits,
      );
      assert.deepEqual(request.body, body);
      const response = JSON.parse(
        new TextDecoder().decode(
          encodeHttpResponse({ status: 200, headers: [], body, url: 'x', redirects: 0 }),
        ),
      ) as { body: string };
      assert.deepEqual(new Uint8Array(Buffer.from(response.body, 'base64')), body);
    }),
  );
});
