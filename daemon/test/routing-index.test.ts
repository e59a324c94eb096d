import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair, signManifest, type Manifest } from '@gojinn/manifest';
import { peerIdFromString } from '@libp2p/peer-id';
import { RoutingIndex } from '../src/node/routing-index.ts';

const PUBLISHER = generateKeyPair();
const OTHER = generateKeyPair();
const PEER_A = peerIdFromString('12D3KooWQnMka3Et7rpp75UTDYtf4rGnvYjL7QvwrxYEyE3gckB5');
const PEER_B = peerIdFromString('12D3KooWPbM9rDmbG3HCtQ6sTPnCfozetFMs2xAN1q4oaay6dGv9');

function manifest(name: string, version: string, byte: number, key = PUBLISHER): Manifest {
  return signManifest(
    { name, version, sha256: byte.toString(16).padStart(2, '0').repeat(32), size: 10, capabilities: {} },
    key.secretKey,
  );
}

void test('the best match is the highest version in range (and of the publisher, when named), with its announcers', () => {
  const index = new RoutingIndex();
  index.add(manifest('hello', '1.0.0', 1), PEER_A);
  index.add(manifest('hello', '1.2.0', 2), PEER_A);
  index.add(manifest('hello', '1.2.0', 2), PEER_B);
  index.add(manifest('hello', '2.0.0', 3, OTHER), PEER_B);
  assert.deepEqual(index.best({ name: 'hello', range: '^1.0.0' }), {
    sha256: '02'.repeat(32),
    from: [PEER_A.toString(), PEER_B.toString()],
  });
  assert.equal(index.best({ name: 'hello', range: '*' })?.sha256, '03'.repeat(32));
  assert.equal(
    index.best({ name: 'hello', range: '*', publisher: PUBLISHER.publicKey })?.sha256,
    '02'.repeat(32),
  );
  assert.equal(index.best({ name: 'hello', range: '^3.0.0' }), undefined);
  assert.equal(index.best({ name: 'nope', range: '*' }), undefined);
  assert.deepEqual(index.best({ sha256: '01'.repeat(32) }), {
    sha256: '01'.repeat(32),
    from: [PEER_A.toString()],
  });
  assert.deepEqual(index.best({ sha256: 'ff'.repeat(32) }), { sha256: 'ff'.repeat(32), from: [] });
});

void test('at maxNames the least recently heard name is forgotten; at maxHashesPerName the oldest hash', () => {
  const index = new RoutingIndex({ maxNames: 2, maxHashesPerName: 2 });
  index.add(manifest('a', '1.0.0', 1), PEER_A);
  index.add(manifest('b', '1.0.0', 2), PEER_A);
  index.add(manifest('a', '1.0.1', 3), PEER_A); // a heard again: b is now the oldest
  assert.equal(index.size, 2);
  index.add(manifest('c', '1.0.0', 4), PEER_A);
  assert.equal(index.size, 2, 'exactly maxNames');
  assert.equal(index.best({ name: 'b', range: '*' }), undefined, 'b forgotten');
  assert.notEqual(index.best({ name: 'a', range: '*' }), undefined);
  index.add(manifest('a', '1.0.2', 5), PEER_A); // a third hash for a: the oldest (1.0.0) goes
  assert.equal(index.best({ name: 'a', range: '1.0.0' }), undefined);
  assert.equal(index.best({ name: 'a', range: '1.0.1' })?.sha256, '03'.repeat(32));
  assert.equal(index.best({ name: 'a', range: '*' })?.sha256, '05'.repeat(32));
});
