/** PeerStats: latency EWMA, in-flight load, ranking, failures, and its bound. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FAILED_PEER_LATENCY_MS,
  LATENCY_EWMA_ALPHA,
  PeerStats,
  UNMEASURED_LATENCY_MS,
} from '../src/routing/peer-stats.ts';

void test('latency is an EWMA of the samples; invalid samples are ignored', () => {
  const stats = new PeerStats();
  stats.recordLatency('p', 10);
  assert.equal(stats.latencyMs('p'), 10);
  stats.recordLatency('p', 20);
  assert.equal(stats.latencyMs('p'), 10 + LATENCY_EWMA_ALPHA * 10);
  stats.recordLatency('p', Number.NaN);
  stats.recordLatency('p', -1);
  assert.equal(stats.latencyMs('p'), 10 + LATENCY_EWMA_ALPHA * 10);
});

void test('ranking: lower latency first, load multiplies latency, unmeasured peers between fast and failed ones, ties keep order', () => {
  const stats = new PeerStats();
  stats.recordLatency('fast', 1);
  stats.recordLatency('slow', UNMEASURED_LATENCY_MS * 2);
  stats.recordFailure('down');
  assert.deepEqual(stats.rank(['down', 'slow', 'new', 'fast']), ['fast', 'new', 'slow', 'down']);
  assert.equal(stats.latencyMs('down'), FAILED_PEER_LATENCY_MS);
  // Load: fast with 200 calls in flight scores 201 ms, behind an unmeasured peer (50 ms).
  const ends = Array.from({ length: 200 }, () => stats.begin('fast'));
  assert.equal(stats.inFlight('fast'), 200);
  assert.deepEqual(stats.rank(['fast', 'new']), ['new', 'fast']);
  for (const end of ends) end();
  ends[0]?.(); // idempotent
  assert.equal(stats.inFlight('fast'), 0);
  assert.deepEqual(stats.rank(['fast', 'new']), ['fast', 'new']);
  assert.deepEqual(stats.rank(['x', 'y', 'z']), ['x', 'y', 'z']);
});

void test('at most maxTracked peers are remembered; the least recently updated idle one is forgotten', () => {
  const stats = new PeerStats(2);
  stats.recordLatency('a', 1);
  stats.recordLatency('b', 2);
  stats.recordLatency('a', 1); // a is now the most recent
  stats.recordLatency('c', 3);
  assert.equal(stats.latencyMs('b'), undefined);
  assert.equal(stats.latencyMs('a'), 1);
  assert.equal(stats.latencyMs('c'), 3);
  // A peer with calls in flight is never forgotten.
  const end = stats.begin('a');
  stats.recordLatency('c', 3);
  stats.recordLatency('d', 4);
  assert.equal(stats.inFlight('a'), 1);
  assert.equal(stats.latencyMs('c'), undefined);
  end();
  assert.throws(() => new PeerStats(0), RangeError);
});
