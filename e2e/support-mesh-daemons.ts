/**
 * Real `gojinn` processes for the e2e mesh tests: a daemon started on port 0 everywhere whose
 * printed addresses are parsed (so parallel tests never collide), CLI commands run to completion
 * with a bound, and bounded polling. Every child is remembered so `killAll` ends it whatever
 * happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GOJINN = join(ROOT, 'packages/cli/bin/gojinn');
/** Bound on a daemon printing its addresses (loads libp2p, opens the store, binds its ports). */
export const START_WAIT_MS = 45_000;
/** Bound on one CLI command. */
export const COMMAND_WAIT_MS = 30_000;
/** Bound on each awaited mesh effect (connect, sync, fetch, policy). */
export const MESH_WAIT_MS = 30_000;
/** Bound on a SIGKILLed child being reaped. */
const KILL_WAIT_MS = 5_000;
/** Pause between two probes of `eventually`. */
const PROBE_INTERVAL_MS = 200;

/** Settings for `gojinn init` and the daemon: loopback and port 0 everywhere. */
export const ANY_PORT_SETTINGS = [
  '--gateway',
  '127.0.0.1:0',
  '--admin',
  '127.0.0.1:0',
  '--metrics',
  '127.0.0.1:0',
  '--listen',
  '/ip4/127.0.0.1/tcp/0',
];

const children: ChildProcess[] = [];

/** The environment without the variables that would point a command at another node. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.GOJINN_DATA;
  delete env.GOJINN_CONFIG;
  delete env.GOJINN_MASTER_KEY;
  delete env.GOJINN_ADMIN_URL;
  return env;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `gojinn ARGS` to completion (killed and rejected after COMMAND_WAIT_MS). */
export async function gojinn(...args: string[]): Promise<CommandResult> {
  const child = spawn(GOJINN, args, { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gojinn ${args.join(' ')}: not done within ${COMMAND_WAIT_MS} ms`));
    }, COMMAND_WAIT_MS);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve(exitCode);
    });
  });
  return { code, stdout, stderr };
}

/** Runs `gojinn ARGS --json`, requires exit 0 and returns the parsed object. */
export async function gojinnJson(...args: string[]): Promise<Record<string, unknown>> {
  const result = await gojinn(...args, '--json');
  if (result.code !== 0)
    throw new Error(
      `gojinn ${args.join(' ')} exited ${String(result.code)}: ${result.stdout}${result.stderr}`,
    );
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

export interface Daemon {
  dataDir: string;
  child: ChildProcess;
  gateway: string;
  admin: string;
  peerId: string;
  /** The first printed libp2p address, with its /p2p/<peer id>. */
  mesh: string;
  stderr: () => string;
}

/** Starts `gojinn daemon --data DIR` and resolves once it has printed its addresses. */
export async function startDaemon(dataDir: string): Promise<Daemon> {
  const child = spawn(GOJINN, ['daemon', '--data', dataDir], {
    cwd: ROOT,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  return new Promise<Daemon>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`daemon ${dataDir}: no addresses within ${START_WAIT_MS} ms\n${out}\n${err}`));
    }, START_WAIT_MS);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`daemon ${dataDir} exited ${String(code)} before listening:\n${out}\n${err}`));
    };
    child.once('exit', onExit);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const gateway = /^gateway\s+(http:\/\/\S+)/m.exec(out)?.[1];
      const admin = /^admin\s+(http:\/\/\S+)/m.exec(out)?.[1];
      const peerId = /^peer id\s+(\S+)/m.exec(out)?.[1];
      const mesh = /^mesh\s+(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)/m.exec(out)?.[1];
      if (gateway === undefined || admin === undefined || peerId === undefined || mesh === undefined) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve({ dataDir, child, gateway, admin, peerId, mesh, stderr: () => err });
    });
  });
}

/** Sends `signal` and waits (bounded) until the process has exited. */
export async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals,
  waitMs = 15_000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`pid ${String(child.pid)}: not exited within ${waitMs} ms`)),
      waitMs,
    );
  });
  try {
    await Promise.race([exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Kills every child these helpers started (SIGKILL: the test is over, nothing to drain) and
 * waits, bounded, until they have exited, so their data directories can be removed.
 */
export async function killAll(): Promise<void> {
  await Promise.allSettled(children.map((child) => stopProcess(child, 'SIGKILL', KILL_WAIT_MS)));
}

/** Polls `probe` until it returns a value, for at most MESH_WAIT_MS. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + MESH_WAIT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, PROBE_INTERVAL_MS));
  }
  throw new Error(`${what}: not within ${MESH_WAIT_MS} ms (last: ${String(last)})`);
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One HTTP request, aborted after `timeoutMs`. */
export async function http(url: string, init: RequestInit = {}, timeoutMs = 10_000): Promise<HttpAnswer> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
}
