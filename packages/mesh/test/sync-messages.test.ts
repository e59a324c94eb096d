/** The sync protocol's two JSON messages: strict parsing of what a peer sends, both ways. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@gojinn/manifest';
import { MAX_GOSSIP_MESSAGE_BYTES, encodeGossipMessage, parseGossipMessage } from '../src/gossip/index.ts';
import type { GossipRecord } from '../src/gossip/index.ts';
import {
  MAX_SYNC_CURSOR_CHARS,
  MAX_SYNC_PAGE_RECORDS,
  SYNC_MAX_RESPONSE_BYTES,
  SYNC_PROTOCOL,
  SYNC_PROTOCOL_ID,
  encodeSyncRequest,
  encodeSyncResponse,
  parseSyncRequest,
  parseSyncResponse,
} from '../src/sync/index.ts';
import { manifestOf } from './support/sync-fixtures.ts';

const text = new TextEncoder();
const key = generateKeyPair();

void test('the protocol id and limits are those of protocols/sync.md', () => {
  assert.equal(SYNC_PROTOCOL_ID, '/gojinn/sync/1.0.0');
  assert.equal(MAX_SYNC_PAGE_RECORDS, 64);
  assert.equal(MAX_SYNC_CURSOR_CHARS, 128);
  assert.equal(SYNC_MAX_RESPONSE_BYTES, 5_243_904);
  assert.deepEqual(
    [
      SYNC_PROTOCOL.spec.maxRequestBytes,
      SYNC_PROTOCOL.spec.maxResponseBytes,
      SYNC_PROTOCOL.spec.timeoutMs,
      SYNC_PROTOCOL.spec.maxInboundStreams,
    ],
    [1024, 5_243_904, 10_000, 2],
  );
});

void test('a request round-trips; the cursor at 128 characters is read, at 129 refused', () => {
  assert.deepEqual(parseSyncRequest(encodeSyncRequest({ cursor: undefined, limit: 64 })), {
    cursor: undefined,
    limit: 64,
  });
  const longest = 'c'.repeat(MAX_SYNC_CURSOR_CHARS);
  assert.deepEqual(parseSyncRequest(encodeSyncRequest({ cursor: longest, limit: 1 })), {
    cursor: longest,
    limit: 1,
  });
  assert.throws(() => parseSyncRequest(encodeSyncRequest({ cursor: `${longest}c`, limit: 1 })), {
    code: 'bad_request',
    message: /cursor/,
  });
  // Duplicate keys are refused by the strict parser, as everywhere.
  assert.throws(() => parseSyncRequest(text.encode('{"cursor":null,"limit":1,"limit":2}')), {
    code: 'bad_request',
  });
});

void test('a response of MAX_SYNC_PAGE_RECORDS records round-trips; each record is its gossip message unchanged', () => {
  const records: GossipRecord[] = Array.from({ length: MAX_SYNC_PAGE_RECORDS }, (_, i) => ({
    type: 'manifest',
    manifest: manifestOf(key, 'same', `1.0.${i}`),
  }));
  const bytes = encodeSyncResponse({ records, next: 'n', more: true });
  const parsed = parseSyncResponse(bytes, MAX_SYNC_PAGE_RECORDS);
  assert.equal(parsed.records.length, MAX_SYNC_PAGE_RECORDS);
  assert.deepEqual(parseGossipMessage(text.encode(JSON.stringify(parsed.records[7]))), records[7]);
  assert.deepEqual([parsed.next, parsed.more], ['n', true]);
  // The bound holds for a full page of records at the gossip maximum.
  assert.ok(
    MAX_SYNC_PAGE_RECORDS * MAX_GOSSIP_MESSAGE_BYTES + 63 + 100 + MAX_SYNC_CURSOR_CHARS <=
      SYNC_MAX_RESPONSE_BYTES,
  );
  assert.equal(
    encodeSyncResponse({ records: [], next: 'n', more: false }).byteLength,
    text.encode('{"records":[],"next":"n","more":false}').byteLength,
  );
  assert.deepEqual(
    encodeSyncResponse({ records: records.slice(0, 2), next: 'n', more: false }),
    text.encode(
      `{"records":[${new TextDecoder().decode(encodeGossipMessage(records[0]!))},${new TextDecoder().decode(encodeGossipMessage(records[1]!))}],"next":"n","more":false}`,
    ),
  );
});

void test('a malformed response is bad_response: more records than asked, a record that is not an object, bad next or more, extra or missing fields, not JSON', () => {
  const record = new TextDecoder().decode(
    encodeGossipMessage({ type: 'manifest', manifest: manifestOf(key, 'x') }),
  );
  for (const [body, limit, pattern] of [
    [`{"records":[${record},${record}],"next":"n","more":false}`, 1, /at most 1/],
    ['{"records":{},"next":"n","more":false}', 64, /array/],
    ['{"records":[1],"next":"n","more":false}', 64, /record 0 is not a JSON object/],
    ['{"records":[[]],"next":"n","more":false}', 64, /record 0/],
    ['{"records":[],"next":null,"more":false}', 64, /next/],
    ['{"records":[],"next":"","more":false}', 64, /next/],
    [`{"records":[],"next":"${'n'.repeat(MAX_SYNC_CURSOR_CHARS + 1)}","more":false}`, 64, /next/],
    ['{"records":[],"next":"n","more":"no"}', 64, /more/],
    ['{"records":[],"next":"n"}', 64, /exactly the fields/],
    ['{"records":[],"next":"n","more":false,"x":1}', 64, /exactly the fields/],
    ['[]', 64, /JSON object/],
    ['{"records":[', 64, /sync response/],
  ] as const) {
    assert.throws(
      () => parseSyncResponse(text.encode(body), limit),
      { code: 'bad_response', message: pattern },
      body,
    );
  }
  // Nesting deeper than a manifest allows inside a record is refused while parsing.
  const deep = `{"records":[{"type":"manifest","manifest":${'{"a":'.repeat(12)}1${'}'.repeat(12)}}],"next":"n","more":false}`;
  assert.throws(() => parseSyncResponse(text.encode(deep), 64), { code: 'bad_response' });
});
