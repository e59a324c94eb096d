/**
 * Resident memory of a real daemon (issue 6, "Benchmarks"; docs/gateway.md): `gojinn init` on
 * a temp data dir, then `gojinn daemon` as its own process, measured from /proc (Linux):
 *
 *   1. a bare `node -e` process idling on the same Node (the baseline);
 *   2. the daemon idle after start (target ≤ 100 MB), from the sources (GOJINN_FROM_SOURCES=1)
 *      and as bin/gojinn runs it, from the bundle (scripts/bundle.ts, brought up to date first);
 *   3. after installing `--modules` distinct small signed modules through the admin API;
 *   4. after calling each of them once through the gateway (each compiled and cached);
 *   and where the idle figure goes: Node processes that only import the daemon's parts.
 *
 *   node bench/daemon-rss.ts [--modules 500] [--settle-ms 2000] [--warm-pool true|false]
 *   The daemon runs through packages/cli/bin/gojinn, with the flags and compile cache it sets;
 *   without --warm-pool it runs with the config's default (limits.warmPool = false).
 *
 * RSS is read after `--settle-ms` of idling, so start-up garbage has had a chance to go.
 * Prints MiB (VmRSS) and, for the daemon, the threads it runs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import wabtInit from 'wabt';
import { encodeManifest, keyPairFromSeed, moduleDigest, signManifest } from '@gojinn/manifest';

const { values } = parseArgs({
  options: {
    modules: { type: 'string', default: '500' },
    'settle-ms': { type: 'string', default: '2000' },
    'warm-pool': { type: 'string' },
  },
});
const MODULES = Number(values.modules);
const SETTLE_MS = Number(values['settle-ms']);
/**
 * limits.warmPool of the daemon: true starts its worker threads at boot (counted as idle);
 * unset leaves the config's default (false).
 */
const WARM_POOL = values['warm-pool'] === undefined ? undefined : values['warm-pool'] !== 'false';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'packages/cli/src/main.ts');
/** How long the daemon may take to print its addresses. */
const START_TIMEOUT_MS = 60_000;
const PUBLISHER = keyPairFromSeed(new Uint8Array(32).fill(5));

// ------------------------------------------------------------------------------ measuring

interface ProcessMemory {
  rssMiB: number;
  threads: number;
}

async function processMemory(pid: number): Promise<ProcessMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status);
    if (match === null) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(match[1]);
  };
  return { rssMiB: field('VmRSS') / 1024, threads: field('Threads') };
}

/** Starts `node args`, waits until stdout has printed `readyPattern`, settles, measures, kills. */
async function measureScript(args: string[], readyPattern: RegExp): Promise<ProcessMemory> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await waitForOutput(child, readyPattern);
    await sleep(SETTLE_MS);
    return await processMemory(child.pid as number);
  } finally {
    await stop(child);
  }
}

function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(
      () => reject(new Error(`no ${pattern} within ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (pattern.test(output)) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(output);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before printing ${pattern}:\n${output}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

// ------------------------------------------------------------------------------ modules

/** A WASI command answering `{"status":200,…,"body":"<name>"}`: distinct bytes per name. */
async function smallModules(names: readonly string[]): Promise<Uint8Array[]> {
  const wabt = await wabtInit();
  return names.map((name) => {
    const json = JSON.stringify({ status: 200, headers: {}, body: name });
    const parsed = wabt.parseWat(
      `${name}.wat`,
      `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) ${JSON.stringify(json)})
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const ${json.length}))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))`,
    );
    const bytes = parsed.toBinary({}).buffer;
    parsed.destroy();
    return bytes;
  });
}

function post(url: string, token: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    })
      .on('error', reject)
      .end();
  });
}

// ------------------------------------------------------------------------------ the run

/** `gojinn daemon` through bin/gojinn with `env` added; resolves once it printed its addresses. */
async function startDaemon(
  dir: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; gatewayUrl: string; adminUrl: string }> {
  const child = spawn(join(ROOT, 'packages/cli/bin/gojinn'), ['daemon', '--data', dir], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const printed = await waitForOutput(child, /^admin\s+\S+/m);
    return {
      child,
      gatewayUrl: /^gateway\s+(\S+)/m.exec(printed)?.[1] as string,
      adminUrl: /^admin\s+(\S+)/m.exec(printed)?.[1] as string,
    };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

function mib(memory: ProcessMemory): string {
  return `${memory.rssMiB.toFixed(1).padStart(6)} MiB`;
}

async function main(): Promise<void> {
  const names = Array.from({ length: MODULES }, (_, i) => `rss-${String(i).padStart(4, '0')}`);
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-bench-rss-'));
  try {
    const init = spawn(process.execPath, [CLI, 'init', '--data', dir, '--json'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await waitForOutput(init, /"ok":true/);
    await new Promise((resolve) => init.once('exit', resolve));
    // Free ports, the bench's publisher trusted, its modules public, rate limit out of the way.
    await writeFile(
      join(dir, 'config.toml'),
      [
        '[listen]',
        'addresses = ["/ip4/127.0.0.1/tcp/0"]',
        '[trust]',
        `publishers = ["${PUBLISHER.publicKey}"]`,
        '[gateway]',
        'listen = "127.0.0.1:0"',
        'ipRatePerSecond = 1_000_000',
        `publicFunctions = [${names.map((name) => `"${name}"`).join(', ')}]`,
        '[admin]',
        'listen = "127.0.0.1:0"',
        ...(WARM_POOL === undefined ? [] : ['[limits]', `warmPool = ${String(WARM_POOL)}`]),
        '[metrics]',
        'listen = "127.0.0.1:0"',
        '[logging]',
        'level = "warn"',
        '',
      ].join('\n'),
    );
    const token = (await readFile(join(dir, 'admin.token'), 'utf8')).trim();

    const baseline = await measureScript(
      ['-e', 'console.log("ready"); setInterval(() => {}, 1000)'],
      /ready/,
    );
    process.stdout.write(
      `daemon RSS: node ${process.version}, settle ${SETTLE_MS} ms before each reading\n` +
        `bare node -e (idle)                 ${mib(baseline)}\n`,
    );
    for (const [label, code] of [
      ['node importing @gojinn/daemon', "import '@gojinn/daemon'; console.log('ready');"],
      ['node importing @gojinn/mesh', "import '@gojinn/mesh'; console.log('ready');"],
    ] as const) {
      const memory = await measureScript(
        ['--input-type=module', '-e', `${code} setInterval(() => {}, 1000)`],
        /ready/,
      );
      process.stdout.write(`${label.padEnd(36)}${mib(memory)}\n`);
    }

    // As an operator runs it: bin/gojinn (the project's Node, its compile cache and heap flags),
    // which runs the bundle (brought up to date first); then the same from the sources.
    const bundled = spawnSync(process.execPath, ['scripts/bundle.ts'], { cwd: ROOT, stdio: 'inherit' });
    if (bundled.status !== 0) throw new Error('scripts/bundle.ts failed');
    const fromSources = await startDaemon(dir, { GOJINN_FROM_SOURCES: '1' });
    try {
      await sleep(SETTLE_MS);
      const idle = await processMemory(fromSources.child.pid as number);
      process.stdout.write(`gojinn daemon from the sources, idle  ${mib(idle)}  (${idle.threads} threads)\n`);
    } finally {
      await stop(fromSources.child);
    }
    const { child: daemon, gatewayUrl, adminUrl } = await startDaemon(dir, {});
    try {
      await sleep(SETTLE_MS);
      const idle = await processMemory(daemon.pid as number);
      process.stdout.write(
        `gojinn daemon (bundle), idle         ${mib(idle)}  (${idle.threads} threads; target ≤ 100 MB = 95.4 MiB)\n`,
      );

      const modules = await smallModules(names);
      for (const [i, name] of names.entries()) {
        const bytes = modules[i] as Uint8Array;
        const manifest = signManifest(
          {
            name,
            version: '1.0.0',
            ...moduleDigest(bytes),
            capabilities: {},
            created: '2026-01-31T12:00:00.000Z',
          },
          PUBLISHER.secretKey,
        );
        const status = await post(
          `${adminUrl}/v1/modules`,
          token,
          JSON.stringify({
            module: Buffer.from(bytes).toString('base64'),
            manifest: Buffer.from(encodeManifest(manifest)).toString('base64'),
          }),
        );
        if (status !== 201) throw new Error(`installing ${name}: admin API answered ${status}`);
      }
      await sleep(SETTLE_MS);
      const installed = await processMemory(daemon.pid as number);
      process.stdout.write(`after installing ${MODULES} modules`.padEnd(36) + `${mib(installed)}\n`);

      for (const name of names) {
        const reply = await get(`${gatewayUrl}/fn/${name}`);
        if (reply.status !== 200 || reply.body !== name) {
          throw new Error(`calling ${name}: ${reply.status} ${reply.body}`);
        }
      }
      await sleep(SETTLE_MS);
      const called = await processMemory(daemon.pid as number);
      process.stdout.write(
        `after calling each once             ${mib(called)}  (${called.threads} threads)\n` +
          `daemon idle − bare node: ${(idle.rssMiB - baseline.rssMiB).toFixed(1)} MiB; ` +
          `${MODULES} modules installed: +${(installed.rssMiB - idle.rssMiB).toFixed(1)} MiB, ` +
          `called: +${(called.rssMiB - installed.rssMiB).toFixed(1)} MiB\n`,
      );
    } finally {
      await stop(daemon);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
