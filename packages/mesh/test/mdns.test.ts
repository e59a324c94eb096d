import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./fixtures/mdns-pair.ts', import.meta.url));

/**
 * Multicast does not cross the machine's loopback interface, so the nodes run in a network
 * namespace of their own with a veth pair (multicast-capable) and a route for 224.0.0.0/4 —
 * nothing leaves the machine. Needs root (CI and this machine have it); skipped otherwise.
 */
const SETUP = [
  'ip link set lo up',
  'ip link add gj0 type veth peer name gj1',
  'ip addr add 10.77.0.1/24 dev gj0',
  'ip addr add 10.77.0.2/24 dev gj1',
  'ip link set gj0 up',
  'ip link set gj1 up',
  'ip route add 224.0.0.0/4 dev gj0',
].join(' && ');

function namespacesAvailable(): boolean {
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link add gjp0 type veth peer name gjp1'], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  return probe.status === 0;
}

void test(
  'mDNS: two nodes with mesh.mdns on find and connect to each other; a node with it off is not announced',
  { skip: namespacesAvailable() ? false : 'needs root for a private network namespace (unshare -n)' },
  () => {
    const run = spawnSync(
      'unshare',
      ['-n', 'sh', '-c', `${SETUP} && exec "$0" "$1"`, process.execPath, script],
      {
        encoding: 'utf8',
        timeout: 40_000,
      },
    );
    assert.equal(run.status, 0, `child failed: ${run.stderr}`);
    const line = run.stdout.trim().split('\n').at(-1) ?? '';
    assert.deepEqual(JSON.parse(line), { abConnected: true, quietConnected: false });
  },
);
