import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GojinnError } from '@gojinn/errors';
import {
  DEFAULT_REQUEST,
  buildRequest,
  encodeRequest,
  newSeed,
  newTraceId,
  parseGuestResponse,
  parseSeed,
  runInvocation,
} from '../src/runtime/index.ts';
import { compileGuest, respondingGuest, specFor } from './fixtures/wat-guest.ts';

const parse = (text: string | Uint8Array) =>
  parseGuestResponse(typeof text === 'string' ? Buffer.from(text) : text);

function assertBad(text: string | Uint8Array, message: string | RegExp): void {
  assert.throws(
    () => parse(text),
    (error: unknown) => {
      assert.ok(error instanceof GojinnError);
      assert.equal(error.code, 'bad_response');
      if (typeof message === 'string') assert.equal(error.message, message);
      else assert.match(error.message, message);
      return true;
    },
  );
}

void describe('the response contract', () => {
  void test('accepts status alone, or with headers and body', () => {
    assert.deepEqual(parse('{"status":204}'), { status: 204, headers: {}, body: '' });
    assert.deepEqual(
      parse('  {"status":200,"headers":{"content-type":"text/plain","X-Id":"7"},"body":"hi ☃"}\n'),
      {
        status: 200,
        headers: { 'content-type': 'text/plain', 'X-Id': '7' },
        body: 'hi ☃',
      },
    );
    assert.deepEqual(parse('{"status":100}').status, 100);
    assert.deepEqual(parse('{"status":599}').status, 599);
  });

  void test('status must be an integer from 100 to 599', () => {
    for (const [status, got] of [
      ['99', '99'],
      ['600', '600'],
      ['200.5', '200.5'],
      ['"200"', 'a string'],
      ['null', 'null'],
      ['[200]', 'an array'],
      ['{"code":200}', 'an object'],
    ]) {
      assertBad(`{"status":${status}}`, `response status must be an integer from 100 to 599, got ${got}`);
    }
    assertBad('{"body":"no status"}', 'response has no status; expected an integer from 100 to 599');
  });

  void test('stdout must be one UTF-8 JSON object', () => {
    assertBad('', 'response is empty: the guest wrote nothing to stdout');
    assertBad(new Uint8Array([0x7b, 0xff, 0x7d]), 'response is not valid UTF-8');
    assertBad('hello world', /^response is not JSON: /);
    assertBad('{"status":200} trailing', /^response is not JSON: /);
    assertBad('[{"status":200}]', 'response must be a JSON object, got an array');
    assertBad('"ok"', 'response must be a JSON object, got a string');
    assertBad('null', 'response must be a JSON object, got null');
    assertBad('200', 'response must be a JSON object, got a number');
  });

  void test('no fields besides status, headers, body', () => {
    assertBad(
      '{"status":200,"extra":1}',
      'response has unknown field "extra"; allowed are status, headers, body',
    );
    assertBad('{"status":200,"response":{"status":200}}', /unknown field "response"/);
  });

  void test('headers: an object of strings with valid HTTP names and values, no nesting', () => {
    assertBad('{"status":200,"headers":[]}', 'response headers must be an object of strings, got an array');
    assertBad('{"status":200,"headers":"x"}', 'response headers must be an object of strings, got a string');
    assertBad('{"status":200,"headers":{"a":1}}', 'response headers["a"] must be a string, got a number');
    assertBad(
      '{"status":200,"headers":{"a":{"b":"c"}}}',
      'response headers["a"] must be a string, got an object',
    );
    assertBad('{"status":200,"headers":{"a":["x"]}}', 'response headers["a"] must be a string, got an array');
    assertBad(
      '{"status":200,"headers":{"bad name":"x"}}',
      'response header name "bad name" is not a valid HTTP field name',
    );
    assertBad('{"status":200,"headers":{"":"x"}}', 'response header name "" is not a valid HTTP field name');
    assertBad(
      '{"status":200,"headers":{"x":"a\\r\\nSet-Cookie: evil=1"}}',
      'response headers["x"] contains characters not allowed in an HTTP field value',
    );
    assertBad('{"status":200,"headers":{"x":"nul\\u0000"}}', /not allowed in an HTTP field value/);
  });

  void test('a "__proto__" header stays an ordinary header', () => {
    const response = parse('{"status":200,"headers":{"__proto__":"x"}}');
    assert.equal(Object.getPrototypeOf(response.headers), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(response.headers, '__proto__')?.value, 'x');
  });

  void test('body must be a string', () => {
    assertBad('{"status":200,"body":42}', 'response body must be a string, got a number');
    assertBad('{"status":200,"body":{"json":true}}', 'response body must be a string, got an object');
    assertBad('{"status":200,"body":null}', 'response body must be a string, got null');
  });

  void test('guest text quoted in a message is cut short', () => {
    assert.throws(
      () => parse(`{"status":200,"${'k'.repeat(10_000)}":1}`),
      (error: unknown) => error instanceof GojinnError && error.message.length < 200,
    );
  });

  void test('through the runtime: a guest writing something else fails with bad_response', () => {
    const guest = compileGuest(respondingGuest('Hello, world!'));
    const outcome = runInvocation(guest.module, guest.info, specFor());
    assert.equal(outcome.ok, false);
    assert.equal(outcome.error?.code, 'bad_response');
    assert.match(outcome.error?.message ?? '', /^response is not JSON/);
  });
});

void describe('requests', () => {
  void test('DEFAULT_REQUEST is an empty GET of "/" and is frozen', () => {
    assert.deepEqual(DEFAULT_REQUEST, { method: 'GET', uri: '/', headers: {}, body: '' });
    assert.ok(Object.isFrozen(DEFAULT_REQUEST) && Object.isFrozen(DEFAULT_REQUEST.headers));
  });

  void test('buildRequest fills what is missing, with a fresh trace id each time unless one is given', () => {
    const a = buildRequest();
    const b = buildRequest();
    assert.deepEqual({ ...a, trace_id: '' }, { ...DEFAULT_REQUEST, trace_id: '' });
    assert.match(a.trace_id, /^[0-9a-f]{32}$/);
    assert.notEqual(a.trace_id, b.trace_id);
    const given = buildRequest({
      method: 'POST',
      body: '{}',
      headers: { 'x-a': '1' },
      trace_id: 'ab'.repeat(16),
    });
    assert.deepEqual(given, {
      method: 'POST',
      uri: '/',
      headers: { 'x-a': '1' },
      body: '{}',
      trace_id: 'ab'.repeat(16),
    });
    assert.match(newTraceId(), /^[0-9a-f]{32}$/);
  });

  void test('buildRequest refuses wrong types, unknown fields and malformed trace ids with bad_request', () => {
    const refuse = (fields: unknown, message: string) =>
      assert.throws(
        () => buildRequest(fields as Parameters<typeof buildRequest>[0]),
        (e: unknown) => e instanceof GojinnError && e.code === 'bad_request' && e.message === message,
      );
    refuse({ method: 7 }, 'request.method must be a string, got number');
    refuse({ headers: [] }, 'request.headers must be an object of strings');
    refuse({ headers: { a: 1 } }, 'request.headers["a"] must be a string');
    refuse({ query: 'x' }, 'request has unknown field "query"');
    refuse({ trace_id: 'AB'.repeat(16) }, 'request.trace_id must be 32 lowercase hex characters');
    refuse({ trace_id: 'ab' }, 'request.trace_id must be 32 lowercase hex characters');
  });

  void test('encodeRequest is UTF-8 JSON with the fields in a fixed order', () => {
    const request = {
      trace_id: 'cd'.repeat(16),
      body: 'é',
      headers: { b: '2', a: '1' },
      uri: '/x?y=1',
      method: 'PUT',
    };
    const text = Buffer.from(encodeRequest(request)).toString('utf8');
    assert.equal(
      text,
      `{"method":"PUT","uri":"/x?y=1","headers":{"b":"2","a":"1"},"body":"é","trace_id":"${'cd'.repeat(16)}"}`,
    );
    assert.deepEqual(encodeRequest(request), encodeRequest({ ...request }));
  });
});

void describe('seeds', () => {
  void test('newSeed is 64 lowercase hex characters, fresh each time', () => {
    const a = newSeed();
    assert.match(a, /^[0-9a-f]{64}$/);
    assert.notEqual(a, newSeed());
  });

  void test('parseSeed returns the 32 bytes of exactly 64 hex characters, else bad_request', () => {
    assert.deepEqual([...parseSeed('00'.repeat(31) + 'Ff')], [...new Array(31).fill(0), 255]);
    for (const bad of [
      '',
      '0'.repeat(63),
      '0'.repeat(65),
      'g'.repeat(64),
      ` ${'0'.repeat(63)}`,
      `${'0'.repeat(64)}\n`,
    ]) {
      assert.throws(
        () => parseSeed(bad),
        (e: unknown) =>
          e instanceof GojinnError && e.code === 'bad_request' && /exactly 64 hex characters/.test(e.message),
      );
    }
  });
});
