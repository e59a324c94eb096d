/**
 * Faults and ceilings across three real `gojinn daemon` processes on loopback (port 0
 * everywhere, addresses parsed from what each daemon prints):
 * - A and B trust publisher P; `hello` (P) is published on A and B fetches it, so both serve it.
 *   A also trusts publisher Q, whose `kv-counter` only A serves, with a [[grants]] kv grant.
 * - C trusts nobody: every call on C is federated, under the policies A and B hold for C
 *   (`gojinn policy set`).
 * Ceiling: C's call to kv-counter is capability_denied while A's policy for C has no kv in its
 * ceiling, though a local call on A works; with kv in the ceiling it works from C too.
 * Failover: a loop of calls through C's gateway, the serving node SIGKILLed mid-loop: every
 * call ends within its deadline, with 200 or a clear error; later calls succeed via the survivor.
 * C never stores a module of a publisher it does not trust, and keeps A's/B's receipts.
 * Every wait is bounded; every child is killed in `after`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import wabtInit from 'wabt';
import {
  ANY_PORT_SETTINGS,
  ROOT,
  eventually,
  gojinn,
  gojinnJson,
  http,
  killAll,
  startDaemon,
  stopProcess,
  type Daemon,
  type HttpAnswer,
} from './support-mesh-daemons.ts';

const HELLO = join(ROOT, 'examples/hello/build/hello.wasm');
const KV_COUNTER = join(ROOT, 'examples/kv-counter/build/kv-counter.wasm');
const KV_SCOPE = { 'kv.read': { prefixes: ['counter/'] }, 'kv.write': { prefixes: ['counter/'] } };
/**
 * `spin`: a pure guest that burns fuel for tens of milliseconds before answering, so the calls
 * of the loop are still running on the serving node when it is killed. Its fuel is above the
 * default per-call ceiling, which A and B raise to SPIN_FUEL_CEILING.
 */
const SPIN_ITERATIONS = 100_000_000;
const SPIN_FUEL_CEILING = 10_000_000_000;
const SPIN_WAT = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "{\\"status\\":200,\\"body\\":\\"spun\\"}")
  (func (export "_start") (local $i i32)
    (loop $spin
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $spin (i32.lt_u (local.get $i) (i32.const ${String(SPIN_ITERATIONS)}))))
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const 28))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`;
/** Calls in the failover loop, and how many run at once. */
const LOOP_CALLS = 60;
const LOOP_CONCURRENCY = 3;
/** The call after which the serving node is killed. */
const KILL_AFTER_CALLS = 15;
/** Deadline of one gateway call in the loop: a call that is not answered by then has hung. */
const CALL_DEADLINE_MS = 15_000;

let root: string;
let a: Daemon;
let b: Daemon;
let c: Daemon;
let keyP = '';
let keyQ = '';

async function tokenOf(node: Daemon): Promise<string> {
  return (await readFile(join(node.dataDir, 'admin.token'), 'utf8')).trim();
}

async function receiptsOf(node: Daemon): Promise<{ data: { peer: string } }[]> {
  const answer = await http(`${node.admin}/v1/receipts?limit=1000`, {
    headers: { authorization: `Bearer ${await tokenOf(node)}` },
  });
  assert.equal(answer.status, 200, answer.body);
  return (JSON.parse(answer.body) as { receipts: { data: { peer: string } }[] }).receipts;
}

async function keygen(name: string): Promise<string> {
  const made = await gojinnJson('keygen', '--out', join(root, `${name}.key`));
  return made.publicKey as string;
}

async function signAndPublish(
  on: Daemon,
  wasm: string,
  name: string,
  key: string,
  caps: string[],
): Promise<void> {
  const manifest = join(root, `${name}.manifest.json`);
  const signed = await gojinn(
    'sign',
    wasm,
    '--key',
    join(root, `${key}.key`),
    '--name',
    name,
    '--version',
    '1.0.0',
    '--out',
    manifest,
    ...caps,
  );
  assert.equal(signed.code, 0, signed.stderr);
  await gojinnJson('publish', wasm, '--manifest', manifest, '--data', on.dataDir, '--admin-url', on.admin);
}

async function setPolicy(on: Daemon, peer: string, modules: string, capabilities: object): Promise<void> {
  await gojinnJson(
    'policy',
    'set',
    peer,
    '--modules',
    modules,
    '--capabilities',
    JSON.stringify(capabilities),
    '--data',
    on.dataDir,
    '--admin-url',
    on.admin,
  );
}

/** Sets `[limits] fuel` in a config written by `gojinn init` (whose `[limits]` table is active). */
async function raiseFuelCeiling(dir: string): Promise<void> {
  const file = join(dir, 'config.toml');
  const text = await readFile(file, 'utf8');
  assert.match(text, /^\[limits\]$/m);
  await writeFile(file, text.replace(/^\[limits\]$/m, `[limits]\nfuel = ${String(SPIN_FUEL_CEILING)}`));
}

async function buildSpin(): Promise<string> {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat('spin.wat', SPIN_WAT);
  const file = join(root, 'spin.wasm');
  await writeFile(file, parsed.toBinary({}).buffer);
  parsed.destroy();
  return file;
}

async function init(dir: string, settings: string[]): Promise<void> {
  const result = await gojinn(
    'init',
    '--data',
    dir,
    ...ANY_PORT_SETTINGS,
    '--public',
    'hello',
    '--public',
    'kv-counter',
    '--public',
    'spin',
    ...settings,
  );
  assert.equal(result.code, 0, result.stderr);
}

function errorCode(answer: HttpAnswer): string | undefined {
  try {
    return (JSON.parse(answer.body) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gojinn-e2e-mesh-faults-'));
  keyP = await keygen('p');
  keyQ = await keygen('q');
  const dirs = { a: join(root, 'a'), b: join(root, 'b'), c: join(root, 'c') };
  await init(dirs.a, ['--trust', keyP, '--trust', keyQ]);
  await appendFile(
    join(dirs.a, 'config.toml'),
    '\n[[grants]]\nmodule = "kv-counter"\n' +
      'capabilities = { "kv.read" = { prefixes = ["counter/"] }, "kv.write" = { prefixes = ["counter/"] } }\n',
  );
  await raiseFuelCeiling(dirs.a);
  a = await startDaemon(dirs.a);
  await init(dirs.b, ['--trust', keyP, '--bootstrap', a.mesh]);
  await raiseFuelCeiling(dirs.b);
  b = await startDaemon(dirs.b);
  await init(dirs.c, ['--bootstrap', a.mesh, '--bootstrap', b.mesh]);
  c = await startDaemon(dirs.c);
  await signAndPublish(a, HELLO, 'hello', 'p', []);
  await signAndPublish(a, await buildSpin(), 'spin', 'p', ['--fuel', String(SPIN_FUEL_CEILING)]);
  await signAndPublish(a, KV_COUNTER, 'kv-counter', 'q', [
    '--cap',
    'kv.read,kv.write',
    '--kv-prefix',
    'counter/',
  ]);
  // A and B admit C for these modules; neither gives its calls any capability yet.
  await setPolicy(a, c.peerId, 'hello,spin,kv-counter', {});
  await setPolicy(b, c.peerId, 'hello,spin,kv-counter', {});
  for (const name of ['hello', 'spin'])
    await eventually(`${name} served by B (fetched from A)`, async () => {
      const answer = await http(`${b.gateway}/fn/${name}`);
      return answer.status === 200 ? answer : undefined;
    });
  await eventually('C connected to A and B', async () => {
    const listed = (await gojinnJson('peers', '--data', c.dataDir, '--admin-url', c.admin)).peers as {
      id: string;
    }[];
    const ids = new Set(listed.map((peer) => peer.id));
    return ids.has(a.peerId) && ids.has(b.peerId) ? true : undefined;
  });
});

after(async () => {
  await killAll();
  await rm(root, { recursive: true, force: true });
});

void test('a ceiling without kv denies C the guest kv call that A runs locally; kv in the ceiling admits it', async () => {
  const local = await http(`${a.gateway}/fn/kv-counter?key=local`);
  assert.equal(local.status, 200, local.body);
  assert.match(local.body, /"count":1/);

  const denied = await eventually('kv-counter reachable from C', async () => {
    const answer = await http(`${c.gateway}/fn/kv-counter?key=remote`);
    return answer.status === 404 ? undefined : answer;
  });
  assert.equal(denied.status, 403, denied.body);
  assert.equal(errorCode(denied), 'capability_denied', denied.body);
  // The module's kv imports are refused when it is linked for C's call: the guest never runs.
  assert.match(denied.body, /kv\.(read|write)/);
  // The code survives the hop through `gojinn invoke` on C as well.
  const cli = await gojinn(
    'invoke',
    'kv-counter',
    '--path',
    '/?key=cli',
    '--data',
    c.dataDir,
    '--admin-url',
    c.admin,
    '--json',
  );
  assert.equal(cli.code, 1, cli.stdout + cli.stderr);
  assert.equal(
    (JSON.parse(cli.stdout) as { error: { code: string } }).error.code,
    'capability_denied',
    cli.stdout,
  );

  await setPolicy(a, c.peerId, 'hello,spin,kv-counter', KV_SCOPE);
  const admitted = await http(`${c.gateway}/fn/kv-counter?key=remote`);
  assert.equal(admitted.status, 200, admitted.body);
  assert.match(admitted.body, /"key":"remote","count":1/);
  // The receipt reaches C's audit log shortly after the answer (the log commits in groups).
  await eventually('a receipt from A in C audit log', async () => {
    const receipts = await receiptsOf(c);
    return receipts.some((entry) => entry.data.peer === a.peerId) ? true : undefined;
  });
});

interface LoopCall {
  index: number;
  /** Started after the serving node was dead (its process had exited). */
  afterKill: boolean;
  status?: number;
  code?: string;
  /** Set when no answer came within CALL_DEADLINE_MS: the call hung. */
  failure?: string;
}

void test('the node serving a loop of calls is SIGKILLed: no call hangs, errors are clear, the survivor serves the rest', async () => {
  const warm = await eventually('spin through C', async () => {
    const answer = await http(`${c.gateway}/fn/spin`);
    return answer.status === 200 ? answer : undefined;
  });
  assert.equal(warm.body, 'spun');

  const calls: LoopCall[] = [];
  let next = 0;
  let done = 0;
  let killed: Promise<Daemon> | undefined;
  let deadAt = Number.POSITIVE_INFINITY;
  let inFlightAtKill = 0;
  // Kills whichever node served the latest call C recorded a receipt for.
  const killServing = async (): Promise<Daemon> => {
    const serving = await eventually('a receipt for the loop in C audit log', async () => {
      const peer = (await receiptsOf(c)).at(-1)?.data.peer;
      return peer === a.peerId ? a : peer === b.peerId ? b : undefined;
    });
    inFlightAtKill = calls.length - done;
    await stopProcess(serving.child, 'SIGKILL');
    deadAt = Date.now();
    return serving;
  };
  const worker = async (): Promise<void> => {
    while (next < LOOP_CALLS) {
      const call: LoopCall = { index: next, afterKill: Date.now() > deadAt };
      next += 1;
      calls.push(call);
      try {
        const answer = await http(`${c.gateway}/fn/spin?n=${String(call.index)}`, {}, CALL_DEADLINE_MS);
        call.status = answer.status;
        call.code = errorCode(answer);
      } catch (error) {
        call.failure = String(error);
      }
      done += 1;
      if (done === KILL_AFTER_CALLS) {
        killed = killServing();
        // Handled here so a failed kill does not crash the run; awaited (and thrown) below.
        killed.catch(() => undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: LOOP_CONCURRENCY }, worker));
  assert.ok(killed !== undefined);
  const victim = await killed;
  const survivor = victim === a ? b : a;

  const summary = `${String(inFlightAtKill)} in flight at the kill: ${JSON.stringify(calls)}`;
  assert.equal(calls.length, LOOP_CALLS);
  assert.ok(inFlightAtKill >= 1, `the kill lands mid-loop, with calls running: ${summary}`);
  assert.deepEqual(
    calls.filter((call) => call.failure !== undefined),
    [],
    `no call hangs past ${CALL_DEADLINE_MS} ms`,
  );
  for (const call of calls) {
    if (call.status === 200) continue;
    assert.ok([502, 503, 504].includes(call.status ?? 0), `a clear error status: ${summary}`);
    assert.ok(['peer_unreachable', 'timeout'].includes(call.code ?? ''), `a clear error code: ${summary}`);
  }
  const later = calls.filter((call) => call.afterKill);
  assert.ok(later.length >= LOOP_CALLS - KILL_AFTER_CALLS - 2 * LOOP_CONCURRENCY, summary);
  // A call that was sent on the dead connection before C saw it close may fail (at most one
  // per worker); every other call after the kill fails over to the survivor.
  assert.ok(later.filter((call) => call.status !== 200).length <= LOOP_CONCURRENCY, summary);
  // Once the failure is known, calls go to the survivor: the last ones all succeed.
  assert.deepEqual(
    calls.slice(-LOOP_CONCURRENCY * 3).map((call) => call.status),
    new Array<number>(LOOP_CONCURRENCY * 3).fill(200),
    summary,
  );
  await eventually('receipts from the survivor after the kill', async () => {
    const last = (await receiptsOf(c)).at(-1);
    return last?.data.peer === survivor.peerId ? true : undefined;
  });
  const after = await http(`${c.gateway}/fn/spin`);
  assert.equal(after.status, 200, after.body);
});

void test('C, which trusts no publisher, stored no module and kept the receipts of A and B', async () => {
  const listed = await gojinnJson('modules', '--data', c.dataDir, '--admin-url', c.admin);
  assert.deepEqual(listed.modules, [], 'the running node lists no module');
  const peers = new Set((await receiptsOf(c)).map((entry) => entry.data.peer));
  assert.ok(peers.has(a.peerId) && peers.has(b.peerId), `receipts from A and B: ${[...peers].join(', ')}`);

  // Stopped, C's store is read directly: no module there either, and the audit log is intact.
  await stopProcess(c.child, 'SIGTERM');
  const stored = await gojinnJson('modules', '--data', c.dataDir);
  assert.deepEqual(stored.modules, [], 'the store holds no module');
  const verified = await gojinnJson('audit', 'verify', '--data', c.dataDir);
  assert.equal(verified.ok, true, JSON.stringify(verified));
  assert.ok((verified.entriesVerified as number) >= peers.size, JSON.stringify(verified));
});
