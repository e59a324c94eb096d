/**
 * Mesh cold start: two full nodes (startNode: store, registry, sandbox pool, libp2p peer,
 * gossip, catch-up, fetcher) on loopback, B bootstrapping to A and trusting the publisher.
 * Each round builds a new ~200 KB module (examples/hello plus a custom section of random
 * padding, so its hash is new), signs it, installs it on A, then `a.mesh.publish(manifest)` ⇒
 * time until B's first successful LOCAL invoke of it: gossip + validation, fetch by hash,
 * hash/signature/trust checks, install, compile and run. B polls its local resolver
 * (`RunningNode.resolver`, never the mesh router) every POLL_MS, then invokes.
 * Baseline in the same run, alternating with it: on A, install + resolve + first invoke of an
 * equally sized new module from local bytes (no network).
 *
 *   node bench/mesh-cold-start.ts [--rounds 5] [--module-bytes 204800] [--round-timeout-ms 20000]
 *
 * Target (issue 5): ≤ 300 ms for a 200 KB module. Prints p50/max of both and the verdict;
 * asserts nothing. Every wait is bounded, the run has a deadline, both nodes are stopped.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateKeyPair, moduleDigest, signManifest } from '@gojinn/manifest';
import type { Manifest, PublisherKeyPair } from '@gojinn/manifest';
import { MANIFEST_TOPIC } from '@gojinn/mesh';
import { buildRequest } from '@gojinn/sandbox';
import { initDataDir, loadConfigFile, startNode } from '@gojinn/daemon';
import type { GatewayFunction, RunningNode } from '@gojinn/daemon';
import type { Message } from '@libp2p/gossipsub';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    'module-bytes': { type: 'string', default: String(200 * 1024) },
    'round-timeout-ms': { type: 'string', default: '20000' },
    'connect-timeout-ms': { type: 'string', default: '30000' },
    'deadline-ms': { type: 'string', default: '240000' },
  },
});
const ROUNDS = Number(values.rounds);
/** Size of every module built: hello.wasm padded with a custom section up to exactly this. */
const MODULE_BYTES = Number(values['module-bytes']);
/** Bound on one publish reaching a successful invoke on B; past it the round is a miss. */
const ROUND_TIMEOUT_MS = Number(values['round-timeout-ms']);
/** Bound on B connecting to A and the gossip topic mesh forming before the first round. */
const CONNECT_TIMEOUT_MS = Number(values['connect-timeout-ms']);
/** Bound on the whole run: past it the process exits 1, whatever is still running. */
const DEADLINE_MS = Number(values['deadline-ms']);
/** How often B's local resolver is asked whether the module is installed yet (the figures' resolution). */
const POLL_MS = 5;
/** Rounds run before measuring (JIT, first streams, first compile), reported apart. */
const WARMUP_ROUNDS = 1;
const TARGET_MS = 300;
const PADDING_SECTION_NAME = 'gojinn-bench-padding';

const HELLO = new Uint8Array(readFileSync(new URL('../examples/hello/build/hello.wasm', import.meta.url)));

if (!Number.isSafeInteger(ROUNDS) || ROUNDS < 1) throw new RangeError('--rounds must be an integer ≥ 1');
if (!Number.isSafeInteger(MODULE_BYTES) || MODULE_BYTES < HELLO.byteLength + 64) {
  throw new RangeError(
    `--module-bytes must be an integer ≥ ${HELLO.byteLength + 64} (hello.wasm + a section)`,
  );
}

const deadline = setTimeout(() => {
  process.stderr.write(`mesh-cold-start: still running after ${DEADLINE_MS} ms (--deadline-ms); exiting\n`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function leb128(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  do {
    const byte = rest & 0x7f;
    rest = Math.floor(rest / 128);
    out.push(rest === 0 ? byte : byte | 0x80);
  } while (rest !== 0);
  return out;
}

/**
 * hello.wasm followed by one custom section (id 0, LEB128 size, LEB128 name length, name,
 * random bytes) making the module exactly `total` bytes: still a valid module that runs as
 * hello does, with a hash of its own.
 */
function paddedModule(total: number): Uint8Array {
  const name = new TextEncoder().encode(PADDING_SECTION_NAME);
  const nameField = [...leb128(name.byteLength), ...name];
  for (let sizeBytes = 1; sizeBytes <= 5; sizeBytes++) {
    const payload = total - HELLO.byteLength - 1 - sizeBytes;
    if (leb128(payload).length !== sizeBytes) continue;
    const section = new Uint8Array([0, ...leb128(payload), ...nameField]);
    const out = new Uint8Array(total);
    out.set(HELLO, 0);
    out.set(section, HELLO.byteLength);
    out.set(randomBytes(payload - nameField.length), HELLO.byteLength + section.byteLength);
    return out;
  }
  throw new RangeError(`cannot pad hello.wasm to exactly ${total} bytes`);
}

function signedModule(key: PublisherKeyPair, name: string): { bytes: Uint8Array; manifest: Manifest } {
  const bytes = paddedModule(MODULE_BYTES);
  const manifest = signManifest(
    { name, version: '1.0.0', ...moduleDigest(bytes), capabilities: {} },
    key.secretKey,
  );
  return { bytes, manifest };
}

function manifestBytes(manifest: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(manifest));
}

/** Invokes a resolved function once; throws unless hello answered with the name asked. */
async function invokeOnce(fn: GatewayFunction, name: string): Promise<void> {
  const outcome = await fn.invoke(buildRequest({ uri: `/hello?name=${name}` }));
  if (!outcome.ok || outcome.response?.status !== 200 || !outcome.response.body.includes(name)) {
    throw new Error(`invoke of ${name} failed: ${JSON.stringify(outcome.error ?? outcome.response)}`);
  }
}

/** Ms from the start of a round to each stage; `total` is the first successful invoke. */
interface Stages {
  /** Cold: B's gossipsub delivered the validated manifest. Local: the install returned. */
  first: number;
  /** The node's local resolver resolved the name (installed, verified, compiled). */
  resolved: number;
  total: number;
}

function configToml(options: { trust: string; bootstrap: string[] }): string {
  return [
    '[listen]',
    'addresses = ["/ip4/127.0.0.1/tcp/0"]',
    '[mesh]',
    `bootstrap = ${JSON.stringify(options.bootstrap)}`,
    '[trust]',
    `publishers = ${JSON.stringify([options.trust])}`,
    '[gateway]',
    'listen = "127.0.0.1:0"',
    '[admin]',
    'listen = "127.0.0.1:0"',
    // Metrics stay on, as in a default daemon, on a free port (two nodes in one process).
    '[metrics]',
    'listen = "127.0.0.1:0"',
    '[logging]',
    'level = "silent"',
  ].join('\n');
}

const root = await mkdtemp(join(tmpdir(), 'gojinn-bench-cold-'));
const running: RunningNode[] = [];

async function start(dataDir: string, toml: string): Promise<RunningNode> {
  await initDataDir(dataDir);
  await writeFile(join(dataDir, 'config.toml'), toml);
  const config = await loadConfigFile(join(dataDir, 'config.toml'), { env: {} });
  const node = await startNode(config, { env: {}, log: () => undefined, drainMs: 1000 });
  running.push(node);
  return node;
}

/** Polls until `check` is true; false past `timeoutMs`. */
async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > until) return false;
    await sleep(20);
  }
  return true;
}

/** publish on A ⇒ B's first successful local invoke; undefined past ROUND_TIMEOUT_MS. */
async function coldStart(
  a: RunningNode,
  b: RunningNode,
  key: PublisherKeyPair,
  name: string,
): Promise<Stages | undefined> {
  const { bytes, manifest } = signedModule(key, name);
  await a.registry.install(bytes, manifestBytes(manifest));
  const pubsubB = b.mesh.node.libp2p.services.pubsub;
  let gossiped: number | undefined;
  // Delivered only after B's topic validator accepted it (the same moment onManifest fires).
  const onMessage = (event: CustomEvent<Message>) => {
    if (
      gossiped === undefined &&
      event.detail.topic === MANIFEST_TOPIC &&
      new TextDecoder().decode(event.detail.data).includes(manifest.signature)
    ) {
      gossiped = performance.now();
    }
  };
  pubsubB.addEventListener('message', onMessage);
  const started = performance.now();
  // publish also announces A as a DHT provider after gossiping; B may be done before that.
  const publishing = a.mesh.publish(manifest).then(
    () => undefined,
    (error: unknown) => error,
  );
  const until = started + ROUND_TIMEOUT_MS;
  let stages: Stages | undefined;
  try {
    while (performance.now() < until) {
      let fn: GatewayFunction;
      try {
        fn = await b.resolver.resolve(name);
      } catch {
        await sleep(POLL_MS);
        continue;
      }
      const resolved = performance.now();
      await invokeOnce(fn, name);
      const total = performance.now();
      stages = {
        first: (gossiped ?? Number.NaN) - started,
        resolved: resolved - started,
        total: total - started,
      };
      break;
    }
  } finally {
    pubsubB.removeEventListener('message', onMessage);
  }
  const failed = await publishing;
  if (failed !== undefined) throw failed;
  return stages;
}

/** On A, from local bytes: install + resolve + first invoke of a new module of the same size. */
async function localStart(a: RunningNode, key: PublisherKeyPair, name: string): Promise<Stages> {
  const { bytes, manifest } = signedModule(key, name);
  const encoded = manifestBytes(manifest);
  const started = performance.now();
  await a.registry.install(bytes, encoded);
  const installed = performance.now();
  const fn = await a.resolver.resolve(name);
  const resolved = performance.now();
  await invokeOnce(fn, name);
  return { first: installed - started, resolved: resolved - started, total: performance.now() - started };
}

try {
  const publisher = generateKeyPair();
  const a = await start(join(root, 'a'), configToml({ trust: publisher.publicKey, bootstrap: [] }));
  const b = await start(
    join(root, 'b'),
    configToml({ trust: publisher.publicKey, bootstrap: [a.meshAddresses[0] as string] }),
  );
  // Gossip reaches B only once A counts it as a subscriber of the manifest topic (and it is in
  // A's topic mesh, formed at a heartbeat): wait for that, bounded, before the first round.
  const pubsubA = a.mesh.node.libp2p.services.pubsub;
  const meshOfA = () =>
    (pubsubA as unknown as { getMeshPeers(topic: string): string[] }).getMeshPeers(MANIFEST_TOPIC);
  const connected = await waitUntil(
    () =>
      pubsubA.getSubscribers(MANIFEST_TOPIC).some((peer) => peer.toString() === b.peerId) &&
      meshOfA().includes(b.peerId),
    CONNECT_TIMEOUT_MS,
  );
  if (!connected) throw new Error(`B not in A's manifest topic mesh within ${CONNECT_TIMEOUT_MS} ms`);

  // A closed A–B connection during the rounds means a round also paid a reconnection.
  let closedDuringRounds = 0;
  b.mesh.node.libp2p.addEventListener('connection:close', () => closedDuringRounds++);
  const samples = { cold: [] as Stages[], local: [] as Stages[] };
  const warmups: string[] = [];
  const misses: number[] = [];
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round++) {
    const coldFirst = round % 2 === 0;
    let cold: Stages | undefined;
    let local: Stages;
    if (coldFirst) {
      cold = await coldStart(a, b, publisher, `cold${round}`);
      local = await localStart(a, publisher, `local${round}`);
    } else {
      local = await localStart(a, publisher, `local${round}`);
      cold = await coldStart(a, b, publisher, `cold${round}`);
    }
    if (round < WARMUP_ROUNDS) {
      warmups.push(
        `cold ${cold === undefined ? 'missed' : `${cold.total.toFixed(1)} ms`}, local ${local.total.toFixed(1)} ms`,
      );
    } else {
      samples.local.push(local);
      if (cold === undefined) misses.push(round);
      else samples.cold.push(cold);
    }
    await sleep(100);
  }

  process.stdout.write(
    `modules of ${MODULE_BYTES} bytes (hello.wasm ${HELLO.byteLength} + padding section); B polls its resolver every ${POLL_MS} ms\n` +
      `${ROUNDS} rounds (+${WARMUP_ROUNDS} warm-up: ${warmups.join('; ')}); load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}\n`,
  );
  const p50 = (xs: Stages[], stage: keyof Stages) =>
    percentile(
      xs.map((x) => x[stage]),
      50,
    );
  const line = (label: string, xs: Stages[], firstLabel: string) =>
    xs.length === 0
      ? `${label.padEnd(44)} no round completed\n`
      : `${label.padEnd(44)} p50 ${p50(xs, 'total').toFixed(1)} ms  max ${Math.max(...xs.map((x) => x.total)).toFixed(1)} ms  (${xs.map((x) => x.total.toFixed(0)).join(', ')})\n` +
        `${''.padEnd(44)} stages p50: ${firstLabel} ${p50(xs, 'first').toFixed(1)} ms, resolved ${p50(xs, 'resolved').toFixed(1)} ms, invoked ${p50(xs, 'total').toFixed(1)} ms\n`;
  process.stdout.write(
    line('cold start on B (publish on A ⇒ local invoke)', samples.cold, 'gossip delivered'),
  );
  process.stdout.write(line('local on A (install + first invoke)', samples.local, 'installed'));
  process.stdout.write(`connections of B closed during the rounds: ${closedDuringRounds}\n`);
  for (const round of misses) {
    process.stdout.write(`round ${round}: no successful invoke on B within ${ROUND_TIMEOUT_MS} ms\n`);
  }
  const totals = samples.cold.map((x) => x.total);
  const worst = misses.length === 0 ? Math.max(...totals) : Number.POSITIVE_INFINITY;
  process.stdout.write(
    `target: cold start within ${TARGET_MS} ms: p50 ${percentile(totals, 50) <= TARGET_MS ? 'met' : 'NOT met'}, max ${worst <= TARGET_MS ? 'met' : 'NOT met'}\n`,
  );
} finally {
  for (const node of running.reverse()) await node.stop().catch(() => undefined);
  await rm(root, { recursive: true, force: true });
}
