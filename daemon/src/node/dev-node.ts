/**
 * A development node in one call, for `npm start` and the daemon's tests: a data directory made
 * by `gojinn init`, a local publisher key, a config that trusts that key and serves the given
 * modules publicly, and those modules signed and installed through the registry. A second call
 * reuses everything: the config (edits kept), the key, and modules already installed with the
 * same bytes. A module whose bytes changed is installed as the next patch version.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GojinnError } from '@gojinn/errors';
import {
  encodeManifest,
  generateKeyPair,
  moduleDigest,
  readPrivateKeyFile,
  signManifest,
  writePrivateKeyFile,
  type DeclaredCapabilities,
  type JsonValue,
  type PublisherKeyPair,
} from '@gojinn/manifest';
import { ModuleRegistry, type ListedModule } from '@gojinn/registry';
import { openStore } from '@gojinn/store';
import { CONFIG_FILE, DATA_FILE_MODE, initDataDir, type ListenAddress } from '../config/index.ts';

/** The development publisher key's file in the data directory (mode 0600, `gojinn keygen`'s format). */
export const DEV_PUBLISHER_KEY_FILE = 'dev-publisher.key';
/** Where `npm start`'s gateway and admin API listen. */
export const DEV_GATEWAY: ListenAddress = Object.freeze({ host: '127.0.0.1', port: 8080 });
export const DEV_ADMIN: ListenAddress = Object.freeze({ host: '127.0.0.1', port: 8081 });
/** Where `npm start`'s Prometheus /metrics listener binds (the metrics listener's default). */
export const DEV_METRICS: ListenAddress = Object.freeze({ host: '127.0.0.1', port: 9464 });
/** Where `npm start`'s libp2p peer listens (loopback: other nodes on this machine may bootstrap to it). */
export const DEV_MESH_LISTEN: readonly string[] = Object.freeze(['/ip4/127.0.0.1/tcp/4001']);
/** Versions of a dev module are 1.0.N, N counting the distinct builds installed. */
const DEV_VERSION_PREFIX = '1.0.';
/** Page size when listing what is installed. */
const LIST_PAGE = 100;

export interface DevModule {
  name: string;
  /** The compiled module. */
  wasmPath: string;
  /** What the manifest declares (default none). */
  capabilities?: DeclaredCapabilities;
}

export interface PrepareDevNodeOptions {
  dataDir: string;
  modules: readonly DevModule[];
  /** Written into a new config only. Default DEV_GATEWAY. */
  gateway?: ListenAddress;
  /** Written into a new config only. Default DEV_ADMIN. */
  admin?: ListenAddress;
  /** [metrics] listen of a new config. Default DEV_METRICS. */
  metrics?: ListenAddress;
  /** [listen] and [mesh] of a new config. Default: listen on DEV_MESH_LISTEN, no bootstrap peers. */
  mesh?: { listen?: readonly string[]; bootstrap?: readonly string[] };
  /** [[grants]] for a new config: each module gets what it declares, or these when given. */
  grants?: readonly { module: string; capabilities: DeclaredCapabilities }[];
}

export interface DevNode {
  configFile: string;
  publisherKeyFile: string;
  publicKey: string;
  /** True when this call created the data directory and config. */
  created: boolean;
  /** `name@version` of each module installed by this call (empty when all were already there). */
  installed: string[];
}

/** A TOML inline value for a JSON value (keys quoted: capability names contain dots). */
function tomlValue(value: JsonValue): string {
  if (Array.isArray(value)) return `[${value.map(tomlValue).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{ ${Object.entries(value)
      .map(([key, inner]) => `${JSON.stringify(key)} = ${tomlValue(inner as JsonValue)}`)
      .join(', ')} }`;
  }
  if (value === null) throw new GojinnError('bad_request', 'TOML has no null');
  return JSON.stringify(value);
}

/** The development config: trusts the dev key, serves every module publicly. */
export function renderDevConfig(options: {
  publicKey: string;
  modules: readonly DevModule[];
  gateway: ListenAddress;
  admin: ListenAddress;
  meshListen: readonly string[];
  bootstrap: readonly string[];
  metrics: ListenAddress;
  grants: readonly { module: string; capabilities: DeclaredCapabilities }[];
}): string {
  const grants = options.grants
    .filter((grant) => Object.keys(grant.capabilities).length > 0)
    .map(
      (grant) =>
        `[[grants]]\nmodule = ${JSON.stringify(grant.module)}\ncapabilities = ${tomlValue(grant.capabilities as JsonValue)}\n`,
    );
  return [
    '# A development node written by `npm start` (daemon/src/node/dev-node.ts). Every key is in',
    '# docs/config.md; edit freely, this file is not rewritten while it exists.',
    '',
    '[node]',
    'mode = "development"',
    '',
    '[trust]',
    `# The local publisher key in ${DEV_PUBLISHER_KEY_FILE}, which signed the example modules.`,
    `publishers = [${JSON.stringify(options.publicKey)}]`,
    '',
    ...grants,
    '[listen]',
    `addresses = ${tomlValue([...options.meshListen])}`,
    '',
    '[mesh]',
    `bootstrap = ${tomlValue([...options.bootstrap])}`,
    '',
    '[gateway]',
    `listen = "${options.gateway.host}:${options.gateway.port}"`,
    '# Callable without an API key: fine on loopback, think twice before listening elsewhere.',
    `publicFunctions = [${options.modules.map((m) => JSON.stringify(m.name)).join(', ')}]`,
    '',
    '[admin]',
    `listen = "${options.admin.host}:${options.admin.port}"`,
    '',
    '[metrics]',
    `listen = "${options.metrics.host}:${options.metrics.port}"`,
    '',
  ].join('\n');
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

async function devPublisherKey(path: string): Promise<PublisherKeyPair> {
  if (await exists(path)) return readPrivateKeyFile(path);
  const pair = generateKeyPair();
  await writePrivateKeyFile(path, pair);
  return pair;
}

async function listAll(registry: ModuleRegistry): Promise<ListedModule[]> {
  const all: ListedModule[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await registry.list({ ...(after === undefined ? {} : { after }), limit: LIST_PAGE });
    all.push(...page.items);
    if (page.next === undefined) return all;
    after = page.next;
  }
}

/** Prepares (first call) or reuses (later calls) a development node's data directory. */
export async function prepareDevNode(options: PrepareDevNodeOptions): Promise<DevNode> {
  const { dataDir } = options;
  const configFile = join(dataDir, CONFIG_FILE);
  const publisherKeyFile = join(dataDir, DEV_PUBLISHER_KEY_FILE);
  const created = !(await exists(configFile));
  if (created) await initDataDir(dataDir);
  const publisher = await devPublisherKey(publisherKeyFile);
  if (created) {
    const text = renderDevConfig({
      publicKey: publisher.publicKey,
      modules: options.modules,
      gateway: options.gateway ?? DEV_GATEWAY,
      admin: options.admin ?? DEV_ADMIN,
      meshListen: options.mesh?.listen ?? DEV_MESH_LISTEN,
      metrics: options.metrics ?? DEV_METRICS,
      bootstrap: options.mesh?.bootstrap ?? [],
      grants:
        options.grants ??
        options.modules.map((m) => ({ module: m.name, capabilities: m.capabilities ?? {} })),
    });
    await writeFile(configFile, text, { mode: DATA_FILE_MODE });
  }
  const installed: string[] = [];
  const store = await openStore(dataDir);
  try {
    const registry = new ModuleRegistry({ store, trust: { publishers: [publisher.publicKey] } });
    const present = await listAll(registry);
    for (const module of options.modules) {
      const bytes = new Uint8Array(await readFile(module.wasmPath));
      const digest = moduleDigest(bytes);
      const versions = present.filter((m) => m.publisher === publisher.publicKey && m.name === module.name);
      if (versions.some((m) => m.hash === digest.sha256)) continue;
      const version = `${DEV_VERSION_PREFIX}${versions.length}`;
      const manifest = signManifest(
        {
          name: module.name,
          version,
          ...digest,
          capabilities: module.capabilities ?? {},
          created: new Date().toISOString(),
        },
        publisher.secretKey,
      );
      await registry.install(bytes, encodeManifest(manifest));
      installed.push(`${module.name}@${version}`);
    }
  } finally {
    await store.close();
  }
  return { configFile, publisherKeyFile, publicKey: publisher.publicKey, created, installed };
}
