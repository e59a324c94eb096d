/**
 * Remote invocation over a warm loopback connection (policy, sandbox run in the worker pool,
 * signed receipt, verification at the caller) with the serving node in a CHILD PROCESS — its
 * own event loop, libp2p node, sandbox and worker pool — so caller and server do not share one
 * JS thread. Beside it, in the same run and across the same two processes:
 *
 * - `echo, stream/call`: a raw echo on the same stack (TCP + Noise + yamux, the same framing, a
 *   handler that returns the request), one stream per call — the baseline;
 * - `echo, session`: the same echo over reused session streams (`defineSessionProtocol`);
 * - `local invoke`: `Sandbox.invoke` of the same module and request, measured INSIDE the server
 *   process (the node that runs the call), through its worker pool;
 * - `floor, session`: the least any remote invocation must do — the session echo whose server
 *   handler runs the request through the same `Sandbox.invoke` (the stdin bytes in, the guest's
 *   response out) and nothing else: no call parsing, policy, receipt or verification. What it
 *   reaches bounds what `remote` can reach on this machine and stack;
 * - `remote 1.0.0`: `invokeRemote(..., { sessions: false })`, one stream per call;
 * - `remote 1.1.0`: `invokeRemote` over the node's session pool (the default).
 *
 *   node bench/invoke-remote.ts [--calls 1000] [--concurrency 1,8,32] [--rounds 3]
 *     [--pool 1] [--deadline-ms 300000] [--server-cpu-prof DIR] [--only 'local invoke;remote 1.1.0']
 *     [--skip-parts]
 *
 * For each round, concurrency level and subject (interleaved, so all see the same machine
 * load): `calls` calls with that many in flight; every call's latency is kept (p50/p99 over
 * all rounds) and the round's calls/s (best round printed). At concurrency 1 the latencies are
 * those of sequential calls. Target (issue 5): remote p50 ≤ echo p50 + local p50 + 0.3 ms (at
 * concurrency 1); remote calls/s ≥ 50% of local (each level). Prints figures and verdicts,
 * asserts nothing; exits 1 past `--deadline-ms` (the child is killed). Remote subjects also
 * print `receipts/signature`: the server's mean receipt batch size over their calls (receipts
 * of one caller finishing in one turn share a signature). `--server-cpu-prof DIR`
 * runs the child under `--cpu-prof` (profile the caller with `node --cpu-prof bench/...`).
 */
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { multiaddr } from '@multiformats/multiaddr';
import { peerIdFromString } from '@libp2p/peer-id';
import { Sandbox, buildRequest, encodeRequest } from '@gojinn/sandbox';
import { sha256Hex } from '@gojinn/manifest';
import { createMeshNode } from '../packages/mesh/src/node.ts';
import type { MeshNode } from '../packages/mesh/src/node.ts';
import { loadOrCreateNodeIdentity } from '../packages/mesh/src/identity.ts';
import { defineProtocol } from '../packages/mesh/src/request-response.ts';
import { createInvokeProtocol, invokeRemote } from '../packages/mesh/src/invoke/protocol.ts';
import { defineSessionProtocol } from '../packages/mesh/src/session/protocol.ts';
import { SessionPool } from '../packages/mesh/src/session/pool.ts';
import type { InvokeCall } from '../packages/mesh/src/invoke/messages.ts';
import { PeerPolicyTable } from '../packages/mesh/src/invoke/peer-policy.ts';
import {
  checkOwnInvokeCall,
  encodeInvokeAnswer,
  encodeInvokeCall,
  parseInvokeAnswer,
  parseInvokeCall,
} from '../packages/mesh/src/invoke/messages.ts';
import {
  defaultVerifiedBatchCache,
  signReceiptBatch,
  verifyReceipt,
} from '../packages/mesh/src/invoke/receipt.ts';
import { VerifiedBatchCache } from '../packages/mesh/src/invoke/verified-batches.ts';
import { requestSha256, responseSha256 } from '../packages/mesh/src/invoke/protocol.ts';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '1,8,32' },
    rounds: { type: 'string', default: '3' },
    pool: { type: 'string', default: '1' },
    'deadline-ms': { type: 'string', default: '300000' },
    'server-cpu-prof': { type: 'string' },
    // Only these subjects (names as printed, separated by ';'), e.g. for a profile of one path.
    only: { type: 'string' },
    // No per-call pieces at the end (a profile of the calls alone).
    'skip-parts': { type: 'boolean', default: false },
    // Internal: this process is the serving child; the value is the caller's peer id.
    serve: { type: 'string' },
  },
});
const CALLS = Number(values.calls);
const LEVELS = values.concurrency.split(',').map(Number);
const ROUNDS = Number(values.rounds);
/** Sandbox worker pool size in the server process (local and remote use the same pool). */
const POOL = Number(values.pool);
const DEADLINE_MS = Number(values['deadline-ms']);
/** Calls per subject before the first round (JIT, sessions opened, worker warm). */
const WARMUP = 300;
/** Calls per piece in printParts (after as many to warm up). */
const PART_CALLS = 2000;
/** Receipts in one batch for the per-batch pieces (calls finishing together at 32 in flight). */
const PART_BATCH = 32;
/** Longest wait for the child to start its node or to answer one local-invoke batch. */
const CHILD_REPLY_TIMEOUT_MS = 60_000;
for (const [name, value] of [
  ['calls', CALLS],
  ['rounds', ROUNDS],
  ['pool', POOL],
  ['deadline-ms', DEADLINE_MS],
  ...LEVELS.map((level) => ['concurrency', level] as const),
] as const) {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`--${name} must be a positive integer`);
}

const request = buildRequest({ uri: '/hello?name=bench', trace_id: 'be'.repeat(16) });
const call: InvokeCall = { module: { name: 'hello', range: '^1.0.0' }, request, deadlineMs: 5_000 };

/** One batch: `calls` runs of `run` with `concurrency` in flight; each latency and the wall time. */
interface Batch {
  samples: number[];
  elapsedMs: number;
  failed: number;
}

/**
 * Calls that fail are counted, not fatal: on a heavily loaded machine libp2p's connection
 * monitor may abort a connection when its own ping stalls (the next call redials). More than
 * a tenth of a batch failing ends the benchmark.
 */
async function batch(run: () => Promise<unknown>, calls: number, concurrency: number): Promise<Batch> {
  const samples: number[] = [];
  let failed = 0;
  let next = 0;
  let lastError: unknown;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, calls) }, async () => {
      while (next < calls) {
        next++;
        const begun = performance.now();
        try {
          await run();
          samples.push(performance.now() - begun);
        } catch (error) {
          failed++;
          lastError = error;
        }
      }
    }),
  );
  if (failed > calls / 10) throw lastError;
  return { samples, elapsedMs: performance.now() - started, failed };
}

type ToChild = { kind: 'local'; calls: number; concurrency: number } | { kind: 'cpu' } | { kind: 'stop' };
type FromChild =
  | { kind: 'ready'; addr: string; peerId: string }
  | { kind: 'batch'; batch: Batch }
  | { kind: 'cpu'; micros: Cpu; signed: Signed }
  | { kind: 'error'; message: string };

if (values.serve !== undefined) await serve(values.serve);
else await main();

/** The child: the serving node, its sandbox, and local-invoke batches on request. */
async function serve(callerPeerId: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-bench-server-'));
  const bytes = new Uint8Array(readFileSync(new URL('../examples/hello/build/hello.wasm', import.meta.url)));
  const moduleSha256 = sha256Hex(bytes);
  const sandbox = new Sandbox({ pool: { size: POOL } });
  const prepared = sandbox.prepare(bytes);
  const server = await createMeshNode({
    dataDir: dir,
    localNetwork: true,
    rateLimitExempt: ['/ip4/127.0.0.1/ipcidr/32'],
  });
  const { privateKey } = await loadOrCreateNodeIdentity(dir);
  const policies = new PeerPolicyTable({
    policies: [
      {
        id: callerPeerId,
        modules: ['hello'],
        capabilities: {},
        ratePerSecond: 1_000_000,
        maxConcurrent: 1024,
      },
    ],
    maxInFlight: 1024,
  });
  const invoke = createInvokeProtocol({
    policies,
    privateKey,
    execute: async (remote) => {
      remote.authorize('hello');
      const outcome = await sandbox.invoke(prepared, remote.request, {
        programName: 'hello',
        limits: { timeoutMs: remote.deadlineMs },
        ...(remote.seed === undefined ? {} : { seed: remote.seed }),
      });
      return { outcome, moduleSha256 };
    },
  });
  await invoke.handle(server.libp2p);
  const spec = { name: 'bench-echo', maxRequestBytes: 1 << 20, maxResponseBytes: 1 << 20, timeoutMs: 10_000 };
  await defineProtocol(spec).handle(server.libp2p, async (body) => body);
  await defineSessionProtocol({ ...spec, version: '1.1.0' }).handle(server.libp2p, async (body) => body);
  await defineSessionProtocol({ ...spec, name: 'bench-floor', version: '1.1.0' }).handle(
    server.libp2p,
    async (body) => {
      const outcome = await sandbox.invoke(prepared, body, { programName: 'hello' });
      return new TextEncoder().encode(JSON.stringify(outcome.response));
    },
  );

  const stdin = encodeRequest(request);
  const local = async (): Promise<void> => {
    const outcome = await sandbox.invoke(prepared, stdin, { programName: 'hello' });
    if (!outcome.ok) throw new Error(outcome.error?.message);
  };
  const send = (message: FromChild): void => {
    process.send?.(message);
  };
  process.on('message', (message: ToChild) => {
    if (message.kind === 'stop') {
      void (async () => {
        await sandbox.close();
        await server.stop();
        await rm(dir, { recursive: true, force: true });
        process.disconnect();
      })();
      return;
    }
    if (message.kind === 'cpu') {
      send({
        kind: 'cpu',
        micros: cpuNow(),
        signed: { batches: invoke.receipts.batches, receipts: invoke.receipts.receipts },
      });
      return;
    }
    batch(local, message.calls, message.concurrency).then(
      (result) => send({ kind: 'batch', batch: result }),
      (error: unknown) => send({ kind: 'error', message: String(error) }),
    );
  });
  send({
    kind: 'ready',
    addr: server.libp2p.getMultiaddrs()[0]?.toString() ?? '',
    peerId: server.peerId.toString(),
  });
}

/**
 * Where a remote call's own work goes: each piece of the invoke path that echo does not pay,
 * timed alone in this process (no network), main-thread CPU µs per call. The caller pays
 * encode + parse of its call, requestSha256, parse of the answer, responseSha256 and the
 * receipt verification; the server parses the call, hashes request and response, signs and
 * encodes the answer. Receipts are timed per call for a batch of one (a call alone: one
 * signature, one verification) and for a batch of PART_BATCH (one signature and, at the
 * caller, one verification shared by the batch's receipts: the µs per receipt).
 */
async function printParts(out: (line: string) => unknown): Promise<void> {
  const key = await generateKeyPair('Ed25519');
  const peer = peerIdFromPrivateKey(key);
  const response = { status: 200, headers: { 'content-type': 'text/plain' }, body: 'Hello, bench!' };
  const claimsOf = (i: number) => ({
    moduleSha256: 'a'.repeat(64),
    requestSha256: requestSha256(request),
    responseSha256: responseSha256(response),
    fuelUsed: 1234 + i,
    deterministic: false,
    seed: 'b'.repeat(64),
    traceId: request.trace_id,
    time: new Date().toISOString(),
  });
  const claims = claimsOf(0);
  const batchClaims = Array.from({ length: PART_BATCH }, (_, i) => claimsOf(i));
  const [receipt] = signReceiptBatch([claims], key);
  const batch = signReceiptBatch(batchClaims, key);
  const callBytes = encodeInvokeCall(call);
  const batched = batch[0];
  if (receipt === undefined || batched === undefined) throw new Error('no receipt signed');
  const answerBytes = encodeInvokeAnswer({ response, receipt: batched });
  // [piece, run, receipts per run]
  const parts: [string, () => unknown, number][] = [
    ['encodeInvokeCall (caller)', () => encodeInvokeCall(call), 1],
    ['checkOwnInvokeCall (caller)', () => checkOwnInvokeCall(callBytes), 1],
    ['parseInvokeCall (server)', () => parseInvokeCall(callBytes), 1],
    ['requestSha256 (both)', () => requestSha256(request), 1],
    ['responseSha256 (both)', () => responseSha256(response), 1],
    ['sign, batch of 1 (server)', () => signReceiptBatch([claims], key), 1],
    [`sign, batch of ${PART_BATCH} (server)`, () => signReceiptBatch(batchClaims, key), PART_BATCH],
    ['encodeInvokeAnswer (server)', () => encodeInvokeAnswer({ response, receipt: batched }), 1],
    ['parseInvokeAnswer (caller)', () => parseInvokeAnswer(answerBytes, peer.toString()), 1],
    [
      'verify, batch of 1 (caller)',
      () => verifyReceipt(receipt, peer, { cache: new VerifiedBatchCache() }),
      1,
    ],
    [
      `verify, batch of ${PART_BATCH} (caller)`,
      async () => {
        const cache = new VerifiedBatchCache();
        for (const one of batch) await verifyReceipt(one, peer, { cache });
      },
      PART_BATCH,
    ],
  ];
  out(
    `per-call pieces, alone in the caller process (call ${callBytes.byteLength} B, answer ${answerBytes.byteLength} B), µs per call:`,
  );
  for (const [name, run, receipts] of parts) {
    const runs = Math.ceil(PART_CALLS / receipts);
    for (let i = 0; i < runs; i++) await run();
    const before = process.threadCpuUsage();
    for (let i = 0; i < runs; i++) await run();
    const used = process.threadCpuUsage(before);
    const perRun = (used.user + used.system) / runs;
    const perBatch = receipts === 1 ? '' : ` (${perRun.toFixed(0)} µs per batch)`;
    out(`  ${name.padEnd(28)} ${(perRun / receipts).toFixed(1)} µs${perBatch}`);
  }
}

/** Receipts the server signed so far, and the signatures they took. */
interface Signed {
  batches: number;
  receipts: number;
}

/** CPU time used so far, µs: this process's main thread, and the whole process (all threads). */
interface Cpu {
  main: number;
  all: number;
}

function cpuNow(): Cpu {
  const main = process.threadCpuUsage();
  const all = process.cpuUsage();
  return { main: main.user + main.system, all: all.user + all.system };
}

function perCall(used: { caller: Cpu; server: Cpu; calls: number } | undefined): Record<string, string> {
  const of = (micros: number | undefined): string =>
    used === undefined || micros === undefined ? '?' : (micros / used.calls).toFixed(0);
  return {
    callerMain: of(used?.caller.main),
    callerAll: of(used?.caller.all),
    serverMain: of(used?.server.main),
    serverAll: of(used?.server.all),
  };
}

/** Waits for the child's next message (bounded). */
function nextMessage(child: ChildProcess): Promise<FromChild> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`server process did not answer within ${CHILD_REPLY_TIMEOUT_MS} ms`));
    }, CHILD_REPLY_TIMEOUT_MS);
    const onMessage = (message: FromChild): void => {
      cleanup();
      if (message.kind === 'error') reject(new Error(`server process: ${message.message}`));
      else resolve(message);
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`server process exited (${String(code)})`));
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-bench-caller-'));
  const caller: MeshNode = await createMeshNode({
    dataDir: dir,
    localNetwork: true,
    rateLimitExempt: ['/ip4/127.0.0.1/ipcidr/32'],
  });
  const profDir = values['server-cpu-prof'];
  const child = fork(
    fileURLToPath(import.meta.url),
    ['--serve', caller.peerId.toString(), '--pool', String(POOL)],
    {
      execArgv: [
        ...process.execArgv,
        ...(profDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', profDir]),
      ],
    },
  );
  const deadline = setTimeout(() => {
    process.stderr.write(`benchmark exceeded --deadline-ms ${DEADLINE_MS}\n`);
    child.kill('SIGKILL');
    process.exit(1);
  }, DEADLINE_MS);
  deadline.unref();
  try {
    const ready = await nextMessage(child);
    if (ready.kind !== 'ready') throw new Error('server process did not start');
    const serverId = peerIdFromString(ready.peerId);
    await caller.libp2p.dial(multiaddr(ready.addr));

    const spec = {
      name: 'bench-echo',
      maxRequestBytes: 1 << 20,
      maxResponseBytes: 1 << 20,
      timeoutMs: 10_000,
    };
    const echo = defineProtocol(spec);
    const echoSessions = new SessionPool(caller.libp2p, defineSessionProtocol({ ...spec, version: '1.1.0' }));
    const echoBody = new TextEncoder().encode(JSON.stringify(call));
    const floorSessions = new SessionPool(
      caller.libp2p,
      defineSessionProtocol({ ...spec, name: 'bench-floor', version: '1.1.0' }),
    );
    const floorBody = encodeRequest(request);
    const remoteBatch = (run: () => Promise<unknown>) => (calls: number, concurrency: number) =>
      batch(run, calls, concurrency);
    const subjects: Record<string, (calls: number, concurrency: number) => Promise<Batch>> = {
      'echo, stream/call': remoteBatch(() => echo.request(caller.libp2p, serverId, echoBody)),
      'echo, session': remoteBatch(() => echoSessions.request(serverId, echoBody, { timeoutMs: 10_000 })),
      'floor, session': remoteBatch(() => floorSessions.request(serverId, floorBody, { timeoutMs: 10_000 })),
      'local invoke': async (calls, concurrency) => {
        child.send({ kind: 'local', calls, concurrency } satisfies ToChild);
        const reply = await nextMessage(child);
        if (reply.kind !== 'batch') throw new Error('server process answered out of turn');
        return reply.batch;
      },
      'remote 1.0.0': remoteBatch(() => invokeRemote(caller.libp2p, serverId, call, { sessions: false })),
      'remote 1.1.0': remoteBatch(() => invokeRemote(caller.libp2p, serverId, call)),
    };

    if (values.only !== undefined) {
      const only = new Set(values.only.split(';'));
      for (const name of Object.keys(subjects)) if (!only.has(name)) delete subjects[name];
    }
    const serverCpu = async (): Promise<{ micros: Cpu; signed: Signed }> => {
      child.send({ kind: 'cpu' } satisfies ToChild);
      const reply = await nextMessage(child);
      if (reply.kind !== 'cpu') throw new Error('server process answered out of turn');
      return reply;
    };
    /** Receipts and signatures of a subject and level, summed over rounds. */
    const signedBy = new Map<string, Signed>();
    /** Batch signatures the caller verified (cache misses), summed over rounds. */
    const verifiedBy = new Map<string, number>();
    /** CPU µs used during the batches of a subject and level, both processes, summed over rounds. */
    const cpu = new Map<string, { caller: Cpu; server: Cpu; calls: number }>();
    const latencies = new Map<string, number[]>();
    const rates = new Map<string, number[]>();
    const failures = new Map<string, number>();
    const key = (name: string, level: number): string => `${name}@${level}`;
    for (const run of Object.values(subjects)) await run(WARMUP, 8);
    for (let round = 0; round < ROUNDS; round++) {
      for (const level of LEVELS) {
        for (const [name, run] of Object.entries(subjects)) {
          const [caller0, { micros: server0, signed: signed0 }] = [cpuNow(), await serverCpu()];
          const verified0 = defaultVerifiedBatchCache().misses;
          const result = await run(CALLS, level);
          const [caller1, { micros: server1, signed: signed1 }] = [cpuNow(), await serverCpu()];
          const k = key(name, level);
          verifiedBy.set(k, (verifiedBy.get(k) ?? 0) + defaultVerifiedBatchCache().misses - verified0);
          const signedSoFar = signedBy.get(k) ?? { batches: 0, receipts: 0 };
          signedBy.set(k, {
            batches: signedSoFar.batches + signed1.batches - signed0.batches,
            receipts: signedSoFar.receipts + signed1.receipts - signed0.receipts,
          });
          const zero = { main: 0, all: 0 };
          const used = cpu.get(k) ?? { caller: zero, server: zero, calls: 0 };
          const add = (sum: Cpu, from: Cpu, to: Cpu): Cpu => ({
            main: sum.main + to.main - from.main,
            all: sum.all + to.all - from.all,
          });
          cpu.set(k, {
            caller: add(used.caller, caller0, caller1),
            server: add(used.server, server0, server1),
            calls: used.calls + CALLS,
          });
          latencies.set(k, [...(latencies.get(k) ?? []), ...result.samples]);
          rates.set(k, [...(rates.get(k) ?? []), CALLS / (result.elapsedMs / 1000)]);
          if (result.failed > 0) failures.set(k, (failures.get(k) ?? 0) + result.failed);
        }
      }
    }

    const percentile = (samples: number[], p: number): number => {
      const sorted = [...samples].sort((x, y) => x - y);
      return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
    };
    const figure = (name: string, level: number) => ({
      p50: percentile(latencies.get(key(name, level)) ?? [], 50),
      p99: percentile(latencies.get(key(name, level)) ?? [], 99),
      rate: Math.max(...(rates.get(key(name, level)) ?? [])),
      cpu: perCall(cpu.get(key(name, level))),
    });
    const out = (line: string): boolean => process.stdout.write(`${line}\n`);
    out(
      `caller and server in separate processes; ${CALLS} calls × ${ROUNDS} rounds per subject and level; ` +
        `server sandbox pool ${POOL}; calls/s = best round; ` +
        `CPU µs/call = main thread / whole process (all threads), in each process, over the calls`,
    );
    for (const level of LEVELS) {
      out(`-- ${level} in flight`);
      for (const name of Object.keys(subjects)) {
        const f = figure(name, level);
        const signed = signedBy.get(key(name, level));
        const perSignature =
          signed === undefined || signed.batches === 0
            ? ''
            : `  receipts/signature ${(signed.receipts / signed.batches).toFixed(2)}, ` +
              `receipts/verification ${((CALLS * ROUNDS) / (verifiedBy.get(key(name, level)) ?? 0)).toFixed(2)}`;
        out(
          `${name.padEnd(18)} p50 ${f.p50.toFixed(3)} ms  p99 ${f.p99.toFixed(3)} ms  ${f.rate.toFixed(0).padStart(5)} calls/s  ` +
            `CPU µs/call caller ${f.cpu.callerMain}/${f.cpu.callerAll} server ${f.cpu.serverMain}/${f.cpu.serverAll}${perSignature}`,
        );
      }
      if (values.only !== undefined) continue; // the verdicts need every subject
      const local = figure('local invoke', level);
      const remote = figure('remote 1.1.0', level);
      const old = figure('remote 1.0.0', level);
      const echoSession = figure('echo, session', level);
      const floor = figure('floor, session', level);
      const ofLocal = (rate: number): string => `${((rate / local.rate) * 100).toFixed(0)}%`;
      out(
        `remote 1.1.0 / local: ${ofLocal(remote.rate)} of calls/s (target ≥ 50%: ` +
          `${remote.rate >= local.rate / 2 ? 'met' : 'NOT met'}); session echo / local ${ofLocal(echoSession.rate)}; ` +
          `floor / local ${ofLocal(floor.rate)}; ` +
          `1.1.0 vs 1.0.0 ${(remote.rate / old.rate).toFixed(2)}× the calls/s`,
      );
      if (level === 1) {
        for (const baseline of ['echo, stream/call', 'echo, session']) {
          const budget = figure(baseline, 1).p50 + local.p50 + 0.3;
          out(
            `target p50 (${baseline}): remote 1.1.0 ${remote.p50.toFixed(3)} ms ≤ echo + local + 0.3 = ` +
              `${budget.toFixed(3)} ms: ${remote.p50 <= budget ? 'met' : 'NOT met'}`,
          );
        }
      }
    }
    for (const [k, count] of failures) out(`${k}: ${count} failed calls`);
    if (values['skip-parts'] !== true) await printParts(out);
    echoSessions.close();
    floorSessions.close();
    child.send({ kind: 'stop' } satisfies ToChild);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, 10_000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await caller.stop();
    await rm(dir, { recursive: true, force: true });
    clearTimeout(deadline);
  }
}
