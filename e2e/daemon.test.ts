/**
 * `gojinn daemon` as a real process: started on free loopback ports from a dev data directory,
 * called over HTTP (gateway and admin API), stopped with SIGTERM and checked for a clean exit.
 * A config error is exit 2 naming the file and key. Every wait is bounded; the process is
 * killed in `after` whatever happened.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareDevNode, readAdminToken } from '@gojinn/daemon';
import { call } from '../daemon/test/gateway-fixtures.ts';

const MAIN = new URL('../packages/cli/src/main.ts', import.meta.url).pathname;
const HELLO = new URL('../examples/hello/build/hello.wasm', import.meta.url).pathname;
/** Bound on the daemon printing its addresses (loads libp2p, opens the store, binds two ports). */
const START_WAIT_MS = 30_000;
/** Bound on exiting after SIGTERM (drain default is 5 s; nothing is in flight here). */
const EXIT_WAIT_MS = 15_000;

let root: string;
const children: ChildProcess[] = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'gojinn-e2e-daemon-'));
});

after(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

/** The environment without the variables that would point the daemon somewhere else. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.GOJINN_DATA;
  delete env.GOJINN_CONFIG;
  delete env.GOJINN_MASTER_KEY;
  return env;
}

interface Daemon {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnDaemon(args: string[]): Daemon {
  const child = spawn(process.execPath, [MAIN, 'daemon', ...args], {
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Resolves with `what` once it happens, or rejects after `ms` saying what was awaited. */
async function within<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until stdout holds the three address lines (or the process exits first). */
async function addresses(daemon: Daemon): Promise<{ gateway: string; admin: string; peerId: string }> {
  const printed = new Promise<{ gateway: string; admin: string; peerId: string }>((resolve, reject) => {
    const check = (): void => {
      const text = daemon.stdout();
      const gateway = /^gateway\s+(http:\/\/\S+)/m.exec(text)?.[1];
      const admin = /^admin\s+(http:\/\/\S+)/m.exec(text)?.[1];
      const peerId = /^peer id\s+(\S+)/m.exec(text)?.[1];
      if (gateway !== undefined && admin !== undefined && peerId !== undefined)
        resolve({ gateway, admin, peerId });
    };
    daemon.child.stdout?.on('data', check);
    void daemon.exited.then(({ code }) =>
      reject(new Error(`daemon exited (${String(code)}) before listening: ${daemon.stderr()}`)),
    );
    check();
  });
  return within('the daemon printing its addresses', START_WAIT_MS, printed);
}

void test('gojinn daemon serves hello and the admin API, and exits 0 on SIGTERM', async () => {
  const dataDir = join(root, 'node');
  await prepareDevNode({
    dataDir,
    modules: [{ name: 'hello', wasmPath: HELLO }],
    gateway: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    mesh: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    metrics: { host: '127.0.0.1', port: 0 },
  });
  const daemon = spawnDaemon(['--data', dataDir]);
  const { gateway, admin, peerId } = await addresses(daemon);

  const hello = await call(gateway, '/fn/hello?name=e2e');
  assert.equal(hello.status, 200, hello.body);
  assert.equal((JSON.parse(hello.body) as { hello: string }).hello, 'e2e');

  const token = await readAdminToken(dataDir);
  const status = await call(admin, '/v1/status', { headers: { authorization: `Bearer ${token}` } });
  assert.equal(status.status, 200, status.body);
  assert.equal((JSON.parse(status.body) as { peerId: string }).peerId, peerId);
  assert.equal((await call(admin, '/v1/status')).status, 401);

  daemon.child.kill('SIGTERM');
  const exit = await within('the daemon exiting after SIGTERM', EXIT_WAIT_MS, daemon.exited);
  assert.deepEqual(exit, { code: 0, signal: null }, daemon.stderr());
  assert.match(daemon.stderr(), /SIGTERM: stopping/);
  assert.match(daemon.stderr(), /stopped/);
  await assert.rejects(call(gateway, '/fn/hello'), { code: 'ECONNREFUSED' });
});

void test('a config error is exit 2 naming the file and the key, before anything listens', async () => {
  const dataDir = join(root, 'bad');
  const file = join(root, 'bad.toml');
  await writeFile(file, '[gateway]\nmaxBodyBytes = "lots"\n');
  const daemon = spawnDaemon(['--data', dataDir, '--config', file]);
  const exit = await within('the daemon refusing its config', START_WAIT_MS, daemon.exited);
  assert.equal(exit.code, 2, daemon.stderr());
  assert.match(daemon.stderr(), /bad\.toml: gateway\.maxBodyBytes/);
  assert.equal(daemon.stdout(), '');
});
