/** The per-peer policy table at each of its limits, with a clock the test moves. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { GojinnError } from '@gojinn/errors';
import {
  DEFAULT_PEER_MAX_CONCURRENT,
  DEFAULT_PEER_RATE_PER_SECOND,
  OverloadedError,
  PeerPolicyTable,
} from '../src/invoke/peer-policy.ts';
import type { PeerPolicy } from '../src/invoke/peer-policy.ts';

async function newPeer(): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
}

const A = await newPeer();
const B = await newPeer();
const C = await newPeer();

function policy(id: string, over: Partial<PeerPolicy> = {}): PeerPolicy {
  return { id, modules: ['hello'], capabilities: {}, ratePerSecond: 1000, maxConcurrent: 100, ...over };
}

const isCode = (code: string, pattern?: RegExp) => (error: unknown) =>
  error instanceof GojinnError &&
  error.code === code &&
  (pattern === undefined || pattern.test(error.message));

void test('unknown peers are denied by default, admitted with no capabilities and default limits when allowed', () => {
  const table = new PeerPolicyTable({ policies: [policy(A)] });
  assert.throws(() => table.admit(B, 'hello'), isCode('peer_denied', /no policy/));
  table.setPolicies([policy(A)], 'allow');
  const admission = table.admit(B, 'anything');
  assert.deepEqual(admission.ceiling, {});
  assert.ok(admission.allows('whatever'));
  admission.release();
  // Default concurrency for an admitted unknown peer.
  const held = Array.from({ length: DEFAULT_PEER_MAX_CONCURRENT }, () => table.admit(C));
  assert.throws(() => table.admit(C), isCode('overloaded', /maxConcurrent/));
  for (const h of held) h.release();
  assert.ok(DEFAULT_PEER_RATE_PER_SECOND > DEFAULT_PEER_MAX_CONCURRENT);
});

void test('module allow list: listed names only, or any with "*"; calls by hash are authorized by name later', () => {
  const table = new PeerPolicyTable({
    policies: [policy(A, { modules: ['hello', 'fib'] }), policy(B, { modules: ['*'] })],
  });
  table.admit(A, 'hello').release();
  table.admit(A, 'fib').release();
  assert.throws(() => table.admit(A, 'notes'), isCode('peer_denied', /may not invoke module "notes"/));
  table.admit(B, 'notes').release();
  const byHash = table.admit(A);
  assert.doesNotThrow(() => byHash.authorize('hello'));
  assert.throws(() => byHash.authorize('notes'), isCode('peer_denied'));
  byHash.release();
});

void test('the ceiling returned is the peer policy’s capabilities', () => {
  const ceiling = { 'kv.read': { prefixes: ['notes/'] } };
  const table = new PeerPolicyTable({ policies: [policy(A, { capabilities: ceiling })] });
  const admission = table.admit(A, 'hello');
  assert.deepEqual(admission.ceiling, ceiling);
  admission.release();
});

void test('concurrency: exactly maxConcurrent at once, the next is overloaded, a release admits one more; release is idempotent', () => {
  const table = new PeerPolicyTable({ policies: [policy(A, { maxConcurrent: 3 }), policy(B)] });
  const held = [table.admit(A, 'hello'), table.admit(A, 'hello'), table.admit(A, 'hello')];
  assert.equal(table.inFlight(A), 3);
  assert.throws(() => table.admit(A, 'hello'), isCode('overloaded', /3 calls at once \(maxConcurrent\)/));
  // Another peer is not affected.
  table.admit(B, 'hello').release();
  held[0]?.release();
  held[0]?.release();
  assert.equal(table.inFlight(A), 2);
  const again = table.admit(A, 'hello');
  assert.throws(() => table.admit(A, 'hello'), isCode('overloaded'));
  again.release();
  for (const h of held) h.release();
  assert.equal(table.inFlight(), 0);
});

void test('rate: a burst of exactly ratePerSecond, then overloaded with a retry hint; refills with time', () => {
  let now = 1_000;
  const table = new PeerPolicyTable({ policies: [policy(A, { ratePerSecond: 4 })], now: () => now });
  for (let i = 0; i < 4; i++) table.admit(A, 'hello').release();
  let refused: unknown;
  try {
    table.admit(A, 'hello');
  } catch (error) {
    refused = error;
  }
  assert.ok(refused instanceof OverloadedError);
  assert.equal(refused.code, 'overloaded');
  assert.equal(refused.retryAfterMs, 250);
  assert.match(refused.message, /rate of 4 calls per second \(ratePerSecond\); retry in 250 ms/);
  now += 249;
  assert.throws(() => table.admit(A, 'hello'), isCode('overloaded', /retry in 1 ms/));
  now += 1;
  table.admit(A, 'hello').release();
  assert.throws(() => table.admit(A, 'hello'), isCode('overloaded'));
  now += 10_000; // a long pause refills to the burst, not beyond
  for (let i = 0; i < 4; i++) table.admit(A, 'hello').release();
  assert.throws(() => table.admit(A, 'hello'), isCode('overloaded'));
});

void test('maxInFlight bounds all peers together', () => {
  const table = new PeerPolicyTable({ policies: [policy(A), policy(B)], maxInFlight: 2 });
  const a = table.admit(A, 'hello');
  const b = table.admit(B, 'hello');
  assert.throws(() => table.admit(A, 'hello'), isCode('overloaded', /maxInFlight/));
  a.release();
  table.admit(B, 'hello').release();
  b.release();
});

void test('maxTrackedPeers: idle unknown peers are forgotten to make room; busy ones are not', async () => {
  const table = new PeerPolicyTable({ unknownPeers: 'allow', maxTrackedPeers: 2 });
  const busy = table.admit(A);
  table.admit(B).release();
  table.admit(C).release(); // B was idle: forgotten
  const D = await newPeer();
  const c = table.admit(C);
  assert.throws(() => table.admit(D), isCode('overloaded', /maxTrackedPeers/));
  busy.release();
  c.release();
  table.admit(D).release();
});

void test('setPolicies replaces policies at runtime, keeps running calls counted, and refuses bad entries atomically', () => {
  let now = 0;
  const table = new PeerPolicyTable({
    policies: [policy(A, { maxConcurrent: 2, ratePerSecond: 10 })],
    now: () => now,
  });
  const running = [table.admit(A, 'hello'), table.admit(A, 'hello')];
  table.setPolicies([policy(A, { maxConcurrent: 2, ratePerSecond: 10, modules: ['fib'] })]);
  assert.throws(() => table.admit(A, 'hello'), isCode('peer_denied'));
  assert.throws(
    () => table.admit(A, 'fib'),
    isCode('overloaded', /maxConcurrent/),
    'the two running calls still count',
  );
  for (const r of running) r.release();
  // A lower rate caps the tokens already earned: 8 left of 10 becomes 1.
  table.setPolicies([policy(A, { ratePerSecond: 1 })]);
  table.admit(A, 'hello').release();
  assert.throws(() => table.admit(A, 'hello'), isCode('overloaded', /ratePerSecond/));
  now += 1000;
  table.admit(A, 'hello').release();
  // Removing the policy denies the peer.
  table.setPolicies([]);
  assert.throws(() => table.admit(A, 'hello'), isCode('peer_denied'));
  const bad: [string, PeerPolicy[]][] = [
    ['bad id', [policy('not-a-peer-id')]],
    ['duplicate', [policy(B), policy(B)]],
    ['no modules', [policy(B, { modules: [] })]],
    ['star not alone', [policy(B, { modules: ['*', 'hello'] })]],
    ['rate 0', [policy(B, { ratePerSecond: 0 })]],
    ['rate over the limit', [policy(B, { ratePerSecond: 1_000_001 })]],
    ['concurrency over the limit', [policy(B, { maxConcurrent: 1025 })]],
    ['fractional concurrency', [policy(B, { maxConcurrent: 1.5 })]],
  ];
  for (const [what, policies] of bad) {
    assert.throws(() => table.setPolicies(policies), isCode('bad_request'), what);
  }
  // At the limits: accepted.
  table.setPolicies([policy(B, { ratePerSecond: 1_000_000, maxConcurrent: 1024 })]);
  assert.throws(() => table.setPolicies([policy(B)], 'maybe' as 'deny'), isCode('bad_request'));
  assert.equal(table.policyOf(B)?.maxConcurrent, 1024, 'a refused replacement left the table as it was');
});
