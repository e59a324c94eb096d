/**
 * HTTP gateway throughput and latency for the hello example, beside a bare `node:http` server
 * answering the same bytes, in the same run (issue 6, "Benchmarks"; docs/gateway.md).
 *
 *   node bench/gateway.ts [--duration 5] [--connections 10] [--rounds 1] [--workers N] [--reuse]
 *                         [--floors] [--daemon] [--prof DIR]
 *
 * (a) bare: `node:http` answering the status, headers and body the gateway answered for the
 *     same request (captured from the gateway first), with no work in between;
 * (f) floors (`--floors`): the least any gateway running the guest in a fresh instance must do
 *     per request, with nothing else — `node:http`, the request turned into the guest's stdin,
 *     one `Sandbox` run with a fresh instance and fuel on, the guest's status/headers/body
 *     written back; no routing, access control, limits merge, metrics, logs or error mapping.
 *     `floor/thread` runs the guest on the HTTP thread (`invokeInThread`, no wall-clock stop);
 *     `floor/pool` through the worker pool (`Sandbox.invoke`), as the gateway does. What the
 *     floors reach bounds what the gateway can reach on this machine;
 * (d) daemon (`--daemon`): a whole node as `gojinn daemon` runs it (`startNode` on a development
 *     data dir serving examples/hello, `--max-semi-space-size=2` as bin/gojinn sets it): the
 *     config's defaults — instance reuse ON, every invocation appended to the signed audit log,
 *     metrics recorded, the router in front — with only the per-IP rate limit raised out of the
 *     way and the pool sized by `--workers`. What an operator gets, beside the gateway alone;
 * (b) gateway: the real gateway (`createGateway` + `listen`) over the local resolver, a real
 *     registry on a temp store with examples/hello signed and installed, the Sandbox's worker
 *     pool with the capabilities' host imports and dispatcher — a fresh instance per request
 *     (`reuseInstances: false`, `--reuse` turns reuse on) and fuel metering on, as served.
 *     The per-IP rate limit is raised out of the way (every request still takes a token).
 *
 * Each server runs in its own child process, one at a time, and autocannon runs in this
 * process: the load generator needs a core of its own as much as the server, and a server in
 * the load generator's process would share its event loop. Both servers get the same
 * connections and duration; a 1 s warm-up precedes each measurement. With `--rounds N` the
 * order alternates (bare, gateway, gateway, bare, …) so both see the same machine load.
 * Prints req/s, p50/p99, the server process's CPU per request (all its threads) and its main
 * thread's event-loop utilisation, and the ratio gateway/bare. `--prof DIR` writes a
 * CPU profile of each child's main thread but the bare one, over the measured seconds only, to
 * DIR/<subject>-<round>.cpuprofile (the directory must exist).
 * Needs examples/hello/build/hello.wasm (`npm run build:guests`).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import {
  createServer,
  request as httpRequest,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HOST_IMPORTS_URL, HostCallDispatcher, KvStore, createKvHandlers } from '@gojinn/capabilities';
import {
  createGateway,
  createLocalResolver,
  listen,
  loadConfigFile,
  prepareDevNode,
  startNode,
} from '@gojinn/daemon';
import { encodeManifest, keyPairFromSeed, moduleDigest, signManifest } from '@gojinn/manifest';
import { ModuleRegistry } from '@gojinn/registry';
import { Sandbox, buildRequest, encodeRequest, type InvocationOutcome } from '@gojinn/sandbox';
import { openStore } from '@gojinn/store';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '1' },
    workers: { type: 'string', default: String(availableParallelism()) },
    reuse: { type: 'boolean', default: false },
    floors: { type: 'boolean', default: false },
    daemon: { type: 'boolean', default: false },
    prof: { type: 'string' },
    serve: { type: 'string' },
    reply: { type: 'string' },
  },
});

const HELLO_PATH = fileURLToPath(new URL('../examples/hello/build/hello.wasm', import.meta.url));
/** The request both servers answer. */
const PATH = '/fn/hello?name=bench';
const WARM_UP_SECONDS = 1;
/** How long a child may take to start listening (worker pool start included). */
const CHILD_START_TIMEOUT_MS = 30_000;

/** What a server child reports: ready with its URL, or its CPU and event-loop figures. */
type ChildMessage =
  | { kind: 'ready'; url: string }
  | { kind: 'stats'; cpuMicros: number; mainCpuMicros: number; eventLoopUtilization: number };

/** The reply captured from the gateway, which the bare server then sends verbatim. */
interface CannedReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

// ----------------------------------------------------------------------------- server children

async function serveBare(reply: CannedReply): Promise<void> {
  const body = Buffer.from(reply.body, 'utf8');
  const headers: OutgoingHttpHeaders = { ...reply.headers, 'content-length': body.byteLength };
  const server = createServer((_req, res) => {
    res.writeHead(reply.status, headers);
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  runChild(`http://127.0.0.1:${port}`, () => new Promise<void>((resolve) => server.close(() => resolve())));
}

async function serveGateway(workers: number, reuse: boolean): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-bench-gateway-'));
  const store = await openStore(dir);
  const publisher = keyPairFromSeed(new Uint8Array(32).fill(42));
  const registry = new ModuleRegistry({ store, trust: { publishers: [publisher.publicKey] } });
  const bytes = new Uint8Array(readFileSync(HELLO_PATH));
  const manifest = signManifest(
    {
      name: 'hello',
      version: '1.0.0',
      ...moduleDigest(bytes),
      capabilities: {},
      created: '2026-01-31T12:00:00.000Z',
    },
    publisher.secretKey,
  );
  await registry.install(bytes, encodeManifest(manifest));
  const sandbox = new Sandbox({
    reuseInstances: reuse,
    pool: { size: workers, hostImportsUrl: HOST_IMPORTS_URL },
  });
  const dispatcher = new HostCallDispatcher({
    log: () => undefined,
    handlers: createKvHandlers(new KvStore(store.extension('kv'))),
  });
  const gateway = createGateway({
    resolver: createLocalResolver({ registry, sandbox, dispatcher }),
    publicFunctions: ['hello'],
    ipRateLimit: { perSecond: 1e9, burst: 1e9 },
  });
  const listening = await listen(gateway, { drainMs: 1_000 });
  runChild(listening.url, async () => {
    await listening.close();
    await sandbox.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });
}

/**
 * A floor server (see the header): `node:http` and one sandbox run per request, nothing else.
 * `inThread` runs the guest on this thread; otherwise through the worker pool.
 */
async function serveFloor(inThread: boolean, workers: number, reuse: boolean): Promise<void> {
  const sandbox = new Sandbox({
    reuseInstances: reuse,
    pool: { size: workers, hostImportsUrl: HOST_IMPORTS_URL },
  });
  const prepared = await sandbox.prepare(new Uint8Array(readFileSync(HELLO_PATH)));
  const respond = (res: ServerResponse, outcome: InvocationOutcome): void => {
    const response = outcome.response;
    if (response === undefined) {
      res.writeHead(502).end();
      return;
    }
    res.writeHead(response.status, response.headers);
    res.end(response.body);
  };
  const server = createServer((req, res) => {
    const stdin = encodeRequest(buildRequest({ method: req.method ?? 'GET', uri: req.url ?? '/' }));
    if (inThread) respond(res, sandbox.invokeInThread(prepared, stdin));
    else void sandbox.invoke(prepared, stdin).then((outcome) => respond(res, outcome));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  runChild(`http://127.0.0.1:${port}`, async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await sandbox.close();
  });
}

/** A whole node (see the header, (d)): startNode on a development data dir serving hello. */
async function serveDaemon(workers: number): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'gojinn-bench-daemon-'));
  const dataDir = join(root, 'node');
  await prepareDevNode({
    dataDir,
    modules: [{ name: 'hello', wasmPath: HELLO_PATH }],
    gateway: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0 },
    metrics: { host: '127.0.0.1', port: 0 },
    mesh: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  });
  const configPath = join(dataDir, 'config.toml');
  const text = await readFile(configPath, 'utf8');
  await writeFile(
    configPath,
    `${text.replace(/^\[gateway\]$/m, '[gateway]\nipRatePerSecond = 1000000')}\n[limits]\npoolSize = ${workers}\n`,
  );
  const node = await startNode(await loadConfigFile(configPath, { env: {} }), { env: {}, drainMs: 1_000 });
  runChild(node.gatewayUrl, async () => {
    await node.stop();
    await rm(root, { recursive: true, force: true });
  });
}

/** Reports readiness, answers stats requests, and closes on `stop`. */
function runChild(url: string, close: () => Promise<void>): void {
  const send = (message: ChildMessage): void => {
    process.send?.(message);
  };
  let cpuFrom = process.cpuUsage();
  let mainCpuFrom = process.threadCpuUsage();
  let eluFrom = performance.eventLoopUtilization();
  // `--prof FILE`: the main thread's CPU profile over the measured window only (not the start).
  const profiler = values.prof === undefined ? undefined : new Session();
  profiler?.connect();
  process.on('message', (message: unknown) => {
    if (message === 'reset') {
      void profiler?.post('Profiler.enable').then(() => profiler.post('Profiler.start'));
      cpuFrom = process.cpuUsage();
      mainCpuFrom = process.threadCpuUsage();
      eluFrom = performance.eventLoopUtilization();
    } else if (message === 'stats') {
      const cpu = process.cpuUsage(cpuFrom);
      const mainCpu = process.threadCpuUsage(mainCpuFrom);
      const stats: ChildMessage = {
        kind: 'stats',
        cpuMicros: cpu.user + cpu.system,
        mainCpuMicros: mainCpu.user + mainCpu.system,
        eventLoopUtilization: performance.eventLoopUtilization(eluFrom).utilization,
      };
      if (profiler === undefined) send(stats);
      else
        void profiler
          .post('Profiler.stop')
          .then(({ profile }) => writeFile(values.prof as string, JSON.stringify(profile)))
          .then(() => send(stats));
    } else if (message === 'stop') {
      void close().then(() => process.disconnect());
    }
  });
  send({ kind: 'ready', url });
}

// ----------------------------------------------------------------------------- load generator

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
}) => Promise<AutocannonResult>;
// autocannon ships no types; its promise API is all this uses.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Figures {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
  mainCpuMicrosPerRequest: number;
  eventLoopUtilization: number;
  failures: number;
}

class ServerChild {
  readonly #child: ChildProcess;
  readonly #messages: ChildMessage[] = [];
  #waiting: ((message: ChildMessage) => void) | null = null;

  constructor(args: string[], execArgv: string[]) {
    this.#child = fork(fileURLToPath(import.meta.url), args, { execArgv, stdio: 'inherit' });
    this.#child.on('message', (message: ChildMessage) => {
      if (this.#waiting === null) this.#messages.push(message);
      else this.#waiting(message);
    });
  }

  next(timeoutMs = CHILD_START_TIMEOUT_MS): Promise<ChildMessage> {
    const queued = this.#messages.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('server child did not answer')), timeoutMs);
      const onExit = (): void => reject(new Error('server child exited'));
      this.#child.once('exit', onExit);
      this.#waiting = (message) => {
        clearTimeout(timer);
        this.#child.off('exit', onExit);
        this.#waiting = null;
        resolve(message);
      };
    });
  }

  send(message: 'reset' | 'stats' | 'stop'): void {
    this.#child.send(message);
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.send('stop');
    const timer = setTimeout(() => this.#child.kill(), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

async function measure(
  child: ServerChild,
  url: string,
  connections: number,
  seconds: number,
): Promise<Figures> {
  await autocannon({ url: url + PATH, connections, duration: WARM_UP_SECONDS });
  child.send('reset');
  const result = await autocannon({ url: url + PATH, connections, duration: seconds });
  child.send('stats');
  const stats = await child.next();
  if (stats.kind !== 'stats') throw new Error('expected stats from the server child');
  const completed = result['2xx'] + result.non2xx;
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicrosPerRequest: completed === 0 ? Number.NaN : stats.cpuMicros / completed,
    mainCpuMicrosPerRequest: completed === 0 ? Number.NaN : stats.mainCpuMicros / completed,
    eventLoopUtilization: stats.eventLoopUtilization,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

async function startChild(
  args: string[],
  execArgv: string[] = [],
): Promise<{ child: ServerChild; url: string }> {
  const child = new ServerChild(args, execArgv);
  const ready = await child.next();
  if (ready.kind !== 'ready') throw new Error('expected the server child to be ready');
  return { child, url: ready.url };
}

function fetchReply(url: string): Promise<CannedReply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(res.headers)) {
          // Framing is the server's; everything else is sent back as the gateway sent it.
          if (name === 'content-length' || name === 'connection' || name === 'keep-alive' || name === 'date')
            continue;
          if (typeof value === 'string') headers[name] = value;
        }
        resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function row(label: string, f: Figures): string {
  return (
    `${label.padEnd(12)} ${f.requestsPerSecond.toFixed(0).padStart(7)} req/s  ` +
    `p50 ${String(f.p50).padStart(4)} ms  p99 ${String(f.p99).padStart(4)} ms  ` +
    `CPU/req ${f.cpuMicrosPerRequest.toFixed(0).padStart(4)} µs (main thread ${f.mainCpuMicrosPerRequest.toFixed(0).padStart(3)}, ` +
    `ELU ${f.eventLoopUtilization.toFixed(2)})` +
    (f.failures > 0 ? `  FAILURES ${f.failures}` : '')
  );
}

async function main(): Promise<void> {
  if (!existsSync(HELLO_PATH))
    throw new Error(`${HELLO_PATH} is missing: run \`npm run build:guests\` first`);
  const seconds = Number(values.duration);
  const connections = Number(values.connections);
  const rounds = Number(values.rounds);
  const gatewayArgs = [
    '--serve',
    'gateway',
    '--workers',
    values.workers,
    ...(values.reuse ? ['--reuse'] : []),
  ];
  const profArgs = (kind: string, index: number): string[] =>
    values.prof === undefined
      ? []
      : ['--prof', join(values.prof, `${kind.replace('/', '-')}-${index}.cpuprofile`)];

  // The bytes the bare server sends are the gateway's own answer to the same request.
  const first = await startChild(gatewayArgs);
  const canned = await fetchReply(first.url + PATH);
  await first.child.stop();
  if (canned.status !== 200) throw new Error(`the gateway answered ${canned.status}: ${canned.body}`);

  process.stdout.write(
    `gateway bench: node ${process.version}, ${availableParallelism()} CPUs, ${connections} connections, ` +
      `${seconds} s each (after a ${WARM_UP_SECONDS} s warm-up), ${values.workers} workers, ` +
      `instance reuse ${values.reuse ? 'ON' : 'OFF'}, fuel on; GET ${PATH} → ${canned.body.length} B body\n`,
  );
  const subjects: Record<Subject, () => string[]> = {
    bare: () => ['--serve', 'bare', '--reply', JSON.stringify(canned)],
    gateway: () => gatewayArgs,
    'floor/thread': () => ['--serve', 'floor-thread', ...gatewayArgs.slice(2)],
    'floor/pool': () => ['--serve', 'floor-pool', ...gatewayArgs.slice(2)],
    daemon: () => ['--serve', 'daemon', '--workers', values.workers],
  };
  const kinds: Subject[] = [
    'bare',
    'gateway',
    ...(values.floors ? FLOORS : []),
    ...(values.daemon ? (['daemon'] as const) : []),
  ];
  const figures = new Map<Subject, Figures[]>(kinds.map((kind) => [kind, []]));
  for (let round = 0; round < rounds; round += 1) {
    const order = round % 2 === 0 ? kinds : [...kinds].reverse();
    for (const kind of order) {
      const execArgv = kind === 'daemon' ? ['--max-semi-space-size=2'] : [];
      const args = [...subjects[kind](), ...(kind === 'bare' ? [] : profArgs(kind, round))];
      const { child, url } = await startChild(args, execArgv);
      const measured = await measure(child, url, connections, seconds);
      await child.stop();
      figures.get(kind)?.push(measured);
      process.stdout.write(`${row(kind, measured)}\n`);
    }
  }
  const bare = figures.get('bare') ?? [];
  for (const kind of kinds.filter((k) => k !== 'bare')) {
    const ratios = (figures.get(kind) ?? []).map(
      (f, i) => f.requestsPerSecond / (bare[i]?.requestsPerSecond ?? Number.NaN),
    );
    process.stdout.write(
      `${`${kind}/bare`.padEnd(18)} req/s: ${ratios.map((r) => `${(r * 100).toFixed(0)}%`).join(', ')}` +
        `${kind === 'gateway' ? ' (target ≥ 60%)' : ''}\n`,
    );
  }
}

type Subject = 'bare' | 'gateway' | 'floor/thread' | 'floor/pool' | 'daemon';
const FLOORS: Subject[] = ['floor/thread', 'floor/pool'];

if (values.serve === 'bare') {
  await serveBare(JSON.parse(values.reply ?? '') as CannedReply);
} else if (values.serve === 'gateway') {
  await serveGateway(Number(values.workers), values.reuse);
} else if (values.serve === 'daemon') {
  await serveDaemon(Number(values.workers));
} else if (values.serve === 'floor-thread' || values.serve === 'floor-pool') {
  await serveFloor(values.serve === 'floor-thread', Number(values.workers), values.reuse);
} else {
  await main();
}
