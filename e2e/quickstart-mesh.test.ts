/**
 * docs/quickstart.md, "A three-node mesh on one machine", run exactly as written — real
 * processes, the documented commands and ports — with the data directories in a temporary
 * directory instead of .data/ (GOJINN_DATA for npm start's node, --data for the others):
 * node A is `npm start` (scripts/start.ts), B and C are `gojinn init` + `gojinn daemon`.
 * B trusts A's development publisher and serves hello itself after catching up and fetching;
 * C trusts nobody and federates its calls to A, which admits it by `gojinn policy set`.
 * Then a new version is published on A and reaches B; a revocation published on A stops B
 * serving it. Every wait is bounded; every process is killed in `after`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, eventually, gojinn, gojinnJson, http } from './support-mesh-daemons.ts';

const GOJINN = join(ROOT, 'packages/cli/bin/gojinn');
const HELLO = join(ROOT, 'examples/hello/build/hello.wasm');
/** Bound on one node printing its addresses (npm start also checks the guest build). */
const START_WAIT_MS = 60_000;

let root: string;
const dirs = { a: '', b: '', c: '' };
const children: ChildProcess[] = [];

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = { ...process.env, ...extra };
  delete clean.GOJINN_CONFIG;
  delete clean.GOJINN_MASTER_KEY;
  delete clean.GOJINN_ADMIN_URL;
  if (extra.GOJINN_DATA === undefined) delete clean.GOJINN_DATA;
  return clean;
}

interface Started {
  child: ChildProcess;
  output: () => string;
}

/** Spawns a long-running process and resolves once `ready` matches its stdout. */
async function startProcess(command: string, args: string[], ready: RegExp, extraEnv = {}): Promise<Started> {
  const child = spawn(command, args, { cwd: ROOT, env: env(extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')}: not ready within ${START_WAIT_MS} ms\n${out}\n${err}`)),
      START_WAIT_MS,
    );
    const check = (): void => {
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(' ')} exited ${String(code)} before ready:\n${out}\n${err}`));
    });
  });
  return { child, output: () => out };
}

let cPeer = '';

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gojinn-quickstart-mesh-'));
  dirs.a = join(root, 'node');
  dirs.b = join(root, 'b');
  dirs.c = join(root, 'c');
});

after(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 500));
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

void test('the three-node quickstart: catch-up and fetch on B, federation from C with a receipt, publish, revoke', async () => {
  // Node A: npm start.
  const a = await startProcess(process.execPath, ['scripts/start.ts'], /^mesh\s+\/ip4\//m, {
    GOJINN_DATA: dirs.a,
  });
  const A = /^mesh\s+(\/ip4\/127\.0\.0\.1\/tcp\/4001\/p2p\/\S+)/m.exec(a.output())?.[1];
  assert.ok(A !== undefined, `npm start printed A's mesh address on 4001:\n${a.output()}`);
  const status = await gojinnJson('status', '--data', dirs.a);
  assert.ok(JSON.stringify(status).includes(A), 'gojinn status shows the address');
  const KEY = /ed25519:[A-Za-z0-9_-]+/.exec(await readFile(join(dirs.a, 'config.toml'), 'utf8'))?.[0];
  assert.ok(KEY !== undefined);

  // Nodes B and C: gojinn init with the documented settings, then gojinn daemon.
  const initB = await gojinn(
    'init',
    '--data',
    dirs.b,
    '--gateway',
    '127.0.0.1:8180',
    '--admin',
    '127.0.0.1:8181',
    '--metrics',
    '127.0.0.1:9564',
    '--listen',
    '/ip4/127.0.0.1/tcp/4101',
    '--bootstrap',
    A,
    '--trust',
    KEY,
    '--public',
    'hello',
  );
  assert.equal(initB.code, 0, initB.stderr);
  const initC = await gojinn(
    'init',
    '--data',
    dirs.c,
    '--gateway',
    '127.0.0.1:8280',
    '--admin',
    '127.0.0.1:8281',
    '--metrics',
    '127.0.0.1:9664',
    '--listen',
    '/ip4/127.0.0.1/tcp/4201',
    '--bootstrap',
    A,
    '--public',
    'hello',
  );
  assert.equal(initC.code, 0, initC.stderr);
  cPeer = /peer id (12D3KooW\S+)/.exec(initC.stderr)?.[1] ?? '';
  assert.notEqual(cPeer, '');
  await startProcess(GOJINN, ['daemon', '--data', dirs.b], /^mesh\s+/m);
  await startProcess(GOJINN, ['daemon', '--data', dirs.c], /^mesh\s+/m);

  // On A: admit C; B and C connected.
  const policy = await gojinn('policy', 'set', cPeer, '--modules', 'hello', '--data', dirs.a);
  assert.equal(policy.code, 0, policy.stderr);
  const peers = await eventually('B and C connected to A', async () => {
    const listed = (await gojinnJson('peers', '--data', dirs.a)).peers as { id: string; policy: boolean }[];
    return listed.length >= 2 ? listed : undefined;
  });
  assert.equal(peers.find((peer) => peer.id === cPeer)?.policy, true);

  // B fetched hello (it trusts the publisher) and runs its own copy.
  const fromB = await eventually('hello served by B', async () => {
    const answer = await http('http://127.0.0.1:8180/fn/hello?name=b');
    return answer.status === 200 ? answer : undefined;
  });
  assert.match(fromB.body, /"hello":"b"/);
  const bModules = (await gojinnJson('modules', '--data', dirs.b)).modules as {
    name: string;
    active: boolean;
  }[];
  assert.ok(
    bModules.some((m) => m.name === 'hello' && m.active),
    'hello is installed on B',
  );

  // C trusts nobody: its call runs on A; the receipt is A's and C keeps it.
  const fromC = await eventually('hello through C', async () => {
    const answer = await http('http://127.0.0.1:8280/fn/hello?name=c');
    return answer.status === 200 ? answer : undefined;
  });
  assert.match(fromC.body, /"hello":"c"/);
  const aPeer = /12D3KooW\S+$/.exec(A)?.[0];
  const invoked = await gojinnJson('invoke', 'hello', '--data', dirs.c, '--path', '/?name=c');
  assert.equal(invoked.servedBy, aPeer);
  assert.equal((invoked.receipt as { peer: string }).peer, aPeer);
  const cModules = await gojinnJson('modules', '--data', dirs.c);
  assert.deepEqual(cModules.modules, [], 'C never installed a module of a publisher it does not trust');

  // Publish 2.0.0 on A: B gets it by gossip and fetch.
  const manifest = join(root, 'hello-2.0.0.manifest.json');
  const signed = await gojinn(
    'sign',
    HELLO,
    '--key',
    join(dirs.a, 'dev-publisher.key'),
    '--name',
    'hello',
    '--version',
    '2.0.0',
    '--out',
    manifest,
  );
  assert.equal(signed.code, 0, signed.stderr);
  const published = await gojinnJson('publish', HELLO, '--manifest', manifest, '--data', dirs.a);
  assert.ok(JSON.stringify(published).includes('2.0.0'), JSON.stringify(published));
  await eventually('hello 2.0.0 active on B', async () => {
    const listed = (await gojinnJson('modules', '--data', dirs.b)).modules as {
      version: string;
      active: boolean;
    }[];
    return listed.some((m) => m.version === '2.0.0' && m.active) ? true : undefined;
  });

  // Revoke 2.0.0 through A: B stops serving it.
  const revoked = await gojinn(
    'revoke',
    '--key',
    join(dirs.a, 'dev-publisher.key'),
    '--name',
    'hello',
    '--version',
    '2.0.0',
    '--out',
    join(root, 'revocation.json'),
    '--publish',
    '--data',
    dirs.a,
  );
  assert.equal(revoked.code, 0, revoked.stderr);
  await eventually('B refuses the revoked version', async () => {
    const answer = await http('http://127.0.0.1:8180/fn/hello');
    return answer.status === 410 ? answer : undefined;
  });
});
