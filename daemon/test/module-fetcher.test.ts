/**
 * ModuleFetcher: the daemon's queue between trusted manifests heard on the mesh and installs.
 * The bytes come from a function here (the fetch protocol itself is tested in packages/mesh);
 * the registry is real, so every install check runs. Checked: a fetched module is installed
 * and announced; one fetch per module however often it is announced; at most `concurrency`
 * at once and `maxPending` waiting (the rest dropped and logged); progress while running;
 * bytes that do not match the manifest are refused by the registry and nothing is installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { moduleDigest, signManifest, type Manifest } from '@gojinn/manifest';
import { ModuleFetcher } from '../src/node/module-fetcher.ts';
import { PUBLISHER, openNode } from './gateway-fixtures.ts';

const HELLO = new Uint8Array(
  await readFile(new URL('../../examples/hello/build/hello.wasm', import.meta.url)),
);

function manifestOf(name: string, bytes: Uint8Array, version = '1.0.0'): Manifest {
  return signManifest({ name, version, ...moduleDigest(bytes), capabilities: {} }, PUBLISHER.secretKey);
}

interface Gate {
  promise: Promise<void>;
  open: () => void;
}
function gate(): Gate {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

void test('fetches, installs and announces once per module; bounded concurrency and queue; progress', async () => {
  const node = await openNode();
  try {
    const release = gate();
    let running = 0;
    let maxRunning = 0;
    const fetched: string[] = [];
    const announced: string[] = [];
    const events: string[] = [];
    const fetcher = new ModuleFetcher({
      registry: node.registry,
      concurrency: 2,
      maxPending: 3,
      fetchBytes: async (manifest, _from, onProgress) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        fetched.push(manifest.name);
        onProgress(manifest.size / 2);
        await release.promise;
        running--;
        return HELLO;
      },
      announce: async (sha256) => {
        announced.push(sha256);
      },
      onInstalled: () => undefined,
      log: (_level, event) => events.push(event),
    });
    const manifests = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'].map((name) => manifestOf(name, HELLO));
    for (const manifest of manifests) fetcher.enqueue(manifest, undefined);
    fetcher.enqueue(manifests[0] as Manifest, undefined); // a repeat announcement: no second fetch
    // Two run, three wait, one is dropped past maxPending.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(running, 2);
    assert.deepEqual(
      fetcher.inProgress().map((p) => [p.name, p.received, p.total]),
      [
        ['m0', HELLO.byteLength / 2, HELLO.byteLength],
        ['m1', HELLO.byteLength / 2, HELLO.byteLength],
      ],
    );
    assert.equal(events.filter((e) => e === 'fetch_dropped').length, 1);
    release.open();
    await fetcher.idle();
    assert.equal(maxRunning, 2);
    assert.deepEqual(fetched, ['m0', 'm1', 'm2', 'm3', 'm4']);
    for (const name of ['m0', 'm1', 'm2', 'm3', 'm4']) {
      assert.equal((await node.registry.resolve(name)).verified.manifest.name, name);
    }
    await assert.rejects(node.registry.resolve('m5'), { code: 'not_found' });
    assert.equal(announced.length, 5);
    assert.deepEqual(fetcher.inProgress(), []);
  } finally {
    await node.close();
  }
});

void test('bytes that do not match the signed manifest are refused: nothing installed, nothing announced', async () => {
  const node = await openNode();
  try {
    const events: { event: string; code?: unknown }[] = [];
    const announced: string[] = [];
    const fetcher = new ModuleFetcher({
      registry: node.registry,
      fetchBytes: async () => {
        const tampered = new Uint8Array(HELLO);
        tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
        return tampered;
      },
      announce: async (sha256) => {
        announced.push(sha256);
      },
      onInstalled: () => undefined,
      log: (_level, event, fields) => events.push({ event, code: fields.code }),
    });
    fetcher.enqueue(manifestOf('tampered', HELLO), undefined);
    await fetcher.idle();
    await assert.rejects(node.registry.resolve('tampered'), { code: 'not_found' });
    assert.deepEqual(announced, []);
    assert.deepEqual(events, [{ event: 'fetch_failed', code: 'signature_invalid' }]);
  } finally {
    await node.close();
  }
});

void test('a module already installed at that version is not fetched again; after stop nothing is queued', async () => {
  const node = await openNode();
  try {
    await node.install('present', HELLO);
    let fetches = 0;
    const fetcher = new ModuleFetcher({
      registry: node.registry,
      fetchBytes: async () => {
        fetches++;
        return HELLO;
      },
      announce: async () => undefined,
      onInstalled: () => undefined,
      log: () => undefined,
    });
    const installed = (await node.registry.resolve('present')).verified.manifest;
    fetcher.enqueue(installed, undefined);
    await fetcher.idle();
    assert.equal(fetches, 0);
    await fetcher.stop();
    fetcher.enqueue(manifestOf('late', HELLO), undefined);
    await fetcher.idle();
    assert.equal(fetches, 0);
  } finally {
    await node.close();
  }
});
