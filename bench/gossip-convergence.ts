/**
 * Gossip convergence: N real libp2p nodes (createMeshNode, loopback TCP, one process) in a
 * sparse random topology, each running ManifestGossip; one node publishes a signed manifest ⇒
 * time until every other node's `onManifest` has fired (the manifest passed the topic validator —
 * size, strict parse, ed25519 signature, revocation, duplicate, rollback — on every hop).
 * Baseline in the same run, on the same nodes and connections: a second gossipsub topic with
 * no validator, a payload of the same size ⇒ time until every node received it.
 *
 *   node bench/gossip-convergence.ts [--nodes 20] [--chords 1] [--rounds 5] [--round-timeout-ms 10000]
 *
 * Topology: a ring (node i dials i+1) plus `chords` extra dials per node to random others, so
 * every node has at least 3 peers when chords ≥ 1 and the graph is connected. Each round
 * publishes a new manifest (and a new raw payload) from a different node; the two subjects
 * alternate which goes first. Target (issue 5): ≤ 2 s for 20 nodes. Prints the figures and
 * the verdict; asserts nothing. Every wait is bounded and the whole run has a deadline.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { multiaddr } from '@multiformats/multiaddr';
import type { Message } from '@libp2p/gossipsub';
import { TrustPolicy, generateKeyPair, signManifest } from '@gojinn/manifest';
import type { Manifest } from '@gojinn/manifest';
import {
  MANIFEST_TOPIC,
  ManifestGossip,
  MemoryGossipLedger,
  createMeshNode,
  encodeGossipMessage,
  validateGossipMessage,
} from '@gojinn/mesh';
import type { MeshNode } from '@gojinn/mesh';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '20' },
    chords: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '5' },
    'round-timeout-ms': { type: 'string', default: '10000' },
    'mesh-timeout-ms': { type: 'string', default: '30000' },
    'deadline-ms': { type: 'string', default: '180000' },
  },
});
const NODES = Number(values.nodes);
const CHORDS = Number(values.chords);
const ROUNDS = Number(values.rounds);
/** Bound on one publish reaching every node; a round past it counts as not converged. */
const ROUND_TIMEOUT_MS = Number(values['round-timeout-ms']);
/** Bound on the gossipsub topic meshes forming before the first round. */
const MESH_TIMEOUT_MS = Number(values['mesh-timeout-ms']);
/** Bound on the whole run: past it the process exits 1, whatever is still running. */
const DEADLINE_MS = Number(values['deadline-ms']);
/** Rounds run before measuring (JIT, first streams), reported apart. */
const WARMUP_ROUNDS = 1;
const POLL_MS = 20;
/** Manifests validated alone, off the network, for the per-hop validator cost. */
const VALIDATION_SAMPLES = 20;
const RAW_TOPIC = '/gojinn/bench-raw/1';
const TARGET_MS = 2000;

for (const [name, value, min] of [
  ['nodes', NODES, 2],
  ['chords', CHORDS, 0],
  ['rounds', ROUNDS, 1],
] as const) {
  if (!Number.isSafeInteger(value) || value < min)
    throw new RangeError(`--${name} must be an integer ≥ ${min}`);
}

const deadline = setTimeout(() => {
  process.stderr.write(
    `gossip-convergence: still running after ${DEADLINE_MS} ms (--deadline-ms); exiting\n`,
  );
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > until) return false;
    await sleep(POLL_MS);
  }
  return true;
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const dirs: string[] = [];
const nodes: MeshNode[] = [];
const gossips: ManifestGossip[] = [];

/** Per subject: the key of the record in flight and, per node, when it arrived there. */
interface Arrivals {
  key: string | undefined;
  at: (number | undefined)[];
}
const manifestArrivals: Arrivals = { key: undefined, at: [] };
const rawArrivals: Arrivals = { key: undefined, at: [] };

function arrived(arrivals: Arrivals, node: number, key: string): void {
  if (arrivals.key === key && arrivals.at[node] === undefined) arrivals.at[node] = performance.now();
}

const publisher = generateKeyPair();
const trust = new TrustPolicy({ publishers: [publisher.publicKey] });

async function cleanUp(): Promise<void> {
  for (const gossip of gossips) gossip.stop();
  await Promise.allSettled(nodes.map((node) => node.stop()));
  await Promise.allSettled(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

interface Convergence {
  ms: number | undefined;
  reached: number;
  /** For a round that did not converge: each node that never had the record, and its state. */
  missing: string[];
}

function meshPeers(node: MeshNode, topic: string): string[] {
  return (node.libp2p.services.pubsub as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(
    topic,
  );
}

/** Time until every node has `key`, or undefined past ROUND_TIMEOUT_MS (then who lacked it). */
async function converge(
  arrivals: Arrivals,
  topic: string,
  origin: number,
  key: string,
  publish: () => Promise<unknown>,
): Promise<Convergence> {
  arrivals.key = key;
  arrivals.at = new Array<number | undefined>(NODES).fill(undefined);
  const started = performance.now();
  // The publisher has the record when it publishes (gossipsub does not deliver a node's own
  // raw messages to it): both subjects are timed to the other N − 1 nodes.
  arrivals.at[origin] = started;
  await publish();
  const all = await waitUntil(() => arrivals.at.every((t) => t !== undefined), ROUND_TIMEOUT_MS);
  const reached = arrivals.at.filter((t) => t !== undefined).length;
  arrivals.key = undefined;
  if (all) return { ms: Math.max(...(arrivals.at as number[])) - started, reached, missing: [] };
  const missing = arrivals.at.flatMap((t, i) => {
    if (t !== undefined) return [];
    const node = nodes[i] as MeshNode;
    const id = node.peerId.toString();
    const peers = node.libp2p.getPeers().map((peer) => nodes.findIndex((n) => n.peerId.equals(peer)));
    // Whether its peers had the record, and would forward to it (it is in their topic mesh).
    const had = peers.filter((peer) => arrivals.at[peer] !== undefined).length;
    const meshing = peers.filter(
      (peer) => peer >= 0 && meshPeers(nodes[peer] as MeshNode, topic).includes(id),
    );
    const stats = (gossips[i] as ManifestGossip).stats;
    return [
      `node ${i} (peers ${peers.join('/')}, ${had} had it, ${meshing.length} have it in their topic mesh, ` +
        `its own mesh ${meshPeers(node, topic).length}; gossip accepted/rejected/ignored ${stats.accepted}/${stats.rejected}/${stats.ignored})`,
    ];
  });
  return { ms: undefined, reached, missing };
}

try {
  for (let i = 0; i < NODES; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'gojinn-bench-gossip-'));
    dirs.push(dir);
    const node = await createMeshNode({
      dataDir: dir,
      localNetwork: true,
      rateLimitExempt: ['/ip4/127.0.0.1/ipcidr/32'],
    });
    nodes.push(node);
    const index = i;
    gossips.push(
      new ManifestGossip(node, {
        trust,
        onManifest: ({ manifest }) => arrived(manifestArrivals, index, manifest.signature),
        onError: (error) => process.stderr.write(`gossip error on node ${index}: ${String(error)}\n`),
      }),
    );
    const pubsub = node.libp2p.services.pubsub;
    pubsub.addEventListener('message', (event: CustomEvent<Message>) => {
      if (event.detail.topic === RAW_TOPIC)
        arrived(rawArrivals, index, Buffer.from(event.detail.data).toString('hex'));
    });
  }

  // Ring plus random chords: connected, sparse, at least 2 + (chords ≥ 1) peers per node.
  const edges = new Set<string>();
  const link = (a: number, b: number): boolean => {
    if (a === b) return false;
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    if (edges.has(key)) return false;
    edges.add(key);
    return true;
  };
  const dials: [number, number][] = [];
  for (let i = 0; i < NODES; i++) {
    if (link(i, (i + 1) % NODES)) dials.push([i, (i + 1) % NODES]);
    for (let c = 0, tries = 0; c < CHORDS && tries < 100; tries++) {
      const peer = Math.floor(Math.random() * NODES);
      if (link(i, peer)) {
        dials.push([i, peer]);
        c++;
      }
    }
  }
  const addressOf = (node: MeshNode): string => {
    const address = node.libp2p.getMultiaddrs()[0];
    if (address === undefined) throw new Error('node has no listen address');
    return address.toString();
  };
  await Promise.all(
    dials.map(([from, to]) =>
      (nodes[from] as MeshNode).libp2p.dial(multiaddr(addressOf(nodes[to] as MeshNode))),
    ),
  );
  const degrees = nodes.map((node) => node.libp2p.getPeers().length);
  // Longest shortest path between two nodes: the fewest hops the last node can be away.
  const neighbours = nodes.map(() => [] as number[]);
  for (const edge of edges) {
    const [x, y] = edge.split('-').map(Number) as [number, number];
    neighbours[x]?.push(y);
    neighbours[y]?.push(x);
  }
  let diameter = 0;
  for (let from = 0; from < NODES; from++) {
    const hops = new Array<number>(NODES).fill(-1);
    hops[from] = 0;
    const queue = [from];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      for (const peer of neighbours[next] ?? []) {
        if (hops[peer] !== -1) continue;
        hops[peer] = (hops[next] ?? 0) + 1;
        queue.push(peer);
      }
    }
    diameter = Math.max(diameter, ...hops);
  }

  for (const gossip of gossips) gossip.start();
  for (const node of nodes) node.libp2p.services.pubsub.subscribe(RAW_TOPIC);
  // gossipsub forwards only to topic-mesh peers, which form at heartbeats (1 s): publishing
  // before every node has a mesh peer on both topics would measure the heartbeat, not gossip.
  const meshStarted = performance.now();
  const formed = await waitUntil(
    () =>
      nodes.every(
        (node) =>
          meshPeers(node, MANIFEST_TOPIC).length >= Math.min(3, node.libp2p.getPeers().length) &&
          meshPeers(node, RAW_TOPIC).length >= Math.min(3, node.libp2p.getPeers().length),
      ),
    MESH_TIMEOUT_MS,
  );
  if (!formed)
    throw new Error(`gossipsub topic meshes not formed within ${MESH_TIMEOUT_MS} ms (--mesh-timeout-ms)`);
  const meshMs = performance.now() - meshStarted;

  // Connections closed while rounds run (each end reports its own): on a healthy mesh, none.
  // A closed connection loses what was in flight on it, and gossipsub does not resend.
  let closedDuringRounds = 0;
  for (const node of nodes) node.libp2p.addEventListener('connection:close', () => closedDuringRounds++);
  const samples = { manifest: [] as number[], raw: [] as number[] };
  const warmups: string[] = [];
  const misses: string[] = [];
  let payloadBytes = 0;
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    const origin = round % NODES;
    const manifest: Manifest = signManifest(
      {
        name: `bench-gossip-${round}`,
        version: '1.0.0',
        sha256: randomBytes(32).toString('hex'),
        size: 200 * 1024,
        capabilities: {},
      },
      publisher.secretKey,
    );
    payloadBytes = encodeGossipMessage({ type: 'manifest', manifest }).byteLength;
    const raw = randomBytes(payloadBytes);
    const runManifest = () =>
      converge(manifestArrivals, MANIFEST_TOPIC, origin, manifest.signature, () =>
        (gossips[origin] as ManifestGossip).publishManifest(manifest),
      );
    const runRaw = () =>
      converge(rawArrivals, RAW_TOPIC, origin, raw.toString('hex'), () =>
        (nodes[origin] as MeshNode).libp2p.services.pubsub.publish(RAW_TOPIC, raw),
      );
    const manifestFirst = round % 2 === 0;
    const first = await (manifestFirst ? runManifest() : runRaw());
    await sleep(100);
    const second = await (manifestFirst ? runRaw() : runManifest());
    const m = manifestFirst ? first : second;
    const r = manifestFirst ? second : first;
    const show = (x: Convergence) =>
      x.ms === undefined
        ? `not converged in ${ROUND_TIMEOUT_MS} ms (${x.reached}/${NODES}; missing: ${x.missing.join(', ')})`
        : `${x.ms.toFixed(1)} ms`;
    if (round < WARMUP_ROUNDS) {
      warmups.push(`manifest ${show(m)}, raw ${show(r)}`);
    } else {
      if (m.ms === undefined) misses.push(`round ${round} manifest: ${show(m)}`);
      else samples.manifest.push(m.ms);
      if (r.ms === undefined) misses.push(`round ${round} raw: ${show(r)}`);
      else samples.raw.push(r.ms);
    }
    await sleep(200);
  }

  // What one hop's topic validator costs (the same checks, a fresh ledger each time, no
  // network): every node pays it once per record, all on this one thread.
  const validations: number[] = [];
  for (let i = 0; i < VALIDATION_SAMPLES; i++) {
    const bytes = encodeGossipMessage({
      type: 'manifest',
      manifest: signManifest(
        {
          name: `bench-validate-${i}`,
          version: '1.0.0',
          sha256: randomBytes(32).toString('hex'),
          size: 200 * 1024,
          capabilities: {},
        },
        publisher.secretKey,
      ),
    });
    const ledger = new MemoryGossipLedger({ trust });
    const started = performance.now();
    const verdict = await validateGossipMessage(bytes, trust, ledger);
    validations.push(performance.now() - started);
    if (verdict.result !== 'accept-manifest')
      throw new Error(`validator did not accept a valid manifest: ${JSON.stringify(verdict)}`);
  }

  const closed = closedDuringRounds;
  const load = (await import('node:os')).loadavg().map((l) => l.toFixed(2));
  const mean = degrees.reduce((sum, d) => sum + d, 0) / degrees.length;
  process.stdout.write(
    `${NODES} nodes, ring + ${CHORDS} chord(s) each: ${edges.size} links, peers per node min ${Math.min(...degrees)} mean ${mean.toFixed(1)} max ${Math.max(...degrees)}, diameter ${diameter} hops; topic meshes formed in ${meshMs.toFixed(0)} ms\n` +
      `payload ${payloadBytes} bytes; ${ROUNDS} rounds (+${WARMUP_ROUNDS} warm-up: ${warmups.join('; ')}); load average ${load.join(' ')}\n`,
  );
  const line = (name: string, xs: number[]) =>
    xs.length === 0
      ? `${name.padEnd(34)} no round converged\n`
      : `${name.padEnd(34)} p50 ${percentile(xs, 50).toFixed(1)} ms  max ${Math.max(...xs).toFixed(1)} ms  (${xs.map((x) => x.toFixed(0)).join(', ')})\n`;
  process.stdout.write(line('manifest (validated, onManifest)', samples.manifest));
  process.stdout.write(line('raw gossipsub (no validator)', samples.raw));
  process.stdout.write(
    `validateGossipMessage alone: p50 ${percentile(validations, 50).toFixed(2)} ms over ${VALIDATION_SAMPLES} manifests (× ${NODES - 1} nodes on one thread per publish)\n`,
  );
  process.stdout.write(
    `connections closed during the rounds: ${closed} (connection:close events, both ends counted)\n`,
  );
  for (const miss of misses) process.stdout.write(`${miss}\n`);
  const worst = samples.manifest.length === ROUNDS ? Math.max(...samples.manifest) : Number.POSITIVE_INFINITY;
  process.stdout.write(
    `target: every node verified within ${TARGET_MS} ms: ${worst <= TARGET_MS ? 'met' : 'NOT met'} (worst ${Number.isFinite(worst) ? `${worst.toFixed(1)} ms` : 'not converged'})\n`,
  );
} finally {
  await cleanUp();
}
