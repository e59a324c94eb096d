/**
 * A node's admin side for the admin API and CLI tests: a data dir with admin.token and a
 * config.toml naming the admin port, a real store, registry, audit log, secret store, policy
 * store, API keys (shared with a real gateway), a real sandbox behind `invoke`, and the admin
 * API on a free loopback port. Modules are installed signed, as in use.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MasterKey, SecretStore } from '@gojinn/capabilities';
import {
  encodeManifest,
  keyPairFromSeed,
  moduleDigest,
  signManifest,
  type PublisherKeyPair,
} from '@gojinn/manifest';
import { ModuleRegistry } from '@gojinn/registry';
import { Sandbox } from '@gojinn/sandbox';
import { openStore, type BytesSublevel, type Store } from '@gojinn/store';
import { Level } from 'level';
import { readExample } from '../../test/support/guests.ts';
import {
  createAdminServer,
  generateAdminToken,
  type AdminLimits,
  type AdminPeer,
  type AdminServer,
  type AdminServerOptions,
  type PublishAnnouncement,
  type PublishedModule,
} from '../src/admin/index.ts';
import { PersistentApiKeys } from '../src/api-keys/index.ts';
import { AuditLog } from '../src/audit/index.ts';
import type { PeerPolicy } from '../src/config/index.ts';
import { ApiKeyStore } from '../src/gateway/index.ts';
import { PolicyStore } from '../src/policies/index.ts';

export const PUBLISHER: PublisherKeyPair = keyPairFromSeed(new Uint8Array(32).fill(61));
export const NODE_KEY: PublisherKeyPair = keyPairFromSeed(new Uint8Array(32).fill(62));
/** Peer ids (Ed25519, valid) for policies and peers. */
export const PEER_A = '12D3KooWJWVoUkqv2T7aBWXRYVGGKsduudz4w52tbLteT3QX39qC';
export const PEER_B = '12D3KooWLLC4Ca3EmH6Zx3XFv3NojnKxe7zHXLyPBVnbuvfKNq82';
export const SELF_PEER = '12D3KooWJ91t8oBKaQtB9WUqHdCkeeXbpkRZXRh2TTZAgyvDEhH6';
const CREATED = '2026-01-31T12:00:00.000Z';

export interface HarnessOptions {
  peers?: AdminPeer[];
  configPeers?: PeerPolicy[];
  limits?: Partial<AdminLimits>;
  onPublished?: (published: PublishedModule) => Promise<PublishAnnouncement | void>;
  /** Reuse this data dir (a restart); default a fresh one. */
  dir?: string;
  /** Replaces the real local invoke (to make the router's failures happen). */
  invoke?: AdminServerOptions['invoke'];
}

export interface AdminNode {
  dir: string;
  token: string;
  store: Store;
  registry: ModuleRegistry;
  audit: AuditLog;
  policies: PolicyStore;
  apiKeys: PersistentApiKeys;
  /** The gateway's key store, shared with apiKeys. */
  gatewayKeys: ApiKeyStore;
  secrets: SecretStore;
  sandbox: Sandbox;
  admin: AdminServer;
  /** Every list onPoliciesChanged received. */
  policyChanges: PeerPolicy[][];
  /** Every publish onPublished received. */
  published: PublishedModule[];
  /** Signed manifest bytes for `bytes` as `name@version` by PUBLISHER. */
  manifestFor(bytes: Uint8Array, name: string, version: string): Uint8Array;
  install(bytes: Uint8Array, name: string, version: string): Promise<void>;
  /** Stops everything; the data dir stays (for a restart) unless `remove`. */
  close(options?: { remove?: boolean }): Promise<void>;
}

export function manifestFor(bytes: Uint8Array, name: string, version: string): Uint8Array {
  return encodeManifest(
    signManifest(
      { name, version, ...moduleDigest(bytes), capabilities: {}, created: CREATED },
      PUBLISHER.secretKey,
    ),
  );
}

/** The hello example's bytes (built by npm run build:guests). */
export const helloBytes = (): Uint8Array => readExample('hello');

export async function startAdminNode(options: HarnessOptions = {}): Promise<AdminNode> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'gojinn-admin-')));
  const tokenFile = join(dir, 'admin.token');
  let token: string;
  if (options.dir === undefined) {
    token = generateAdminToken();
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    await chmod(tokenFile, 0o600);
  } else {
    const { readAdminToken } = await import('../src/admin/index.ts');
    token = await readAdminToken(dir);
  }
  // The store lives in the data dir itself, as the daemon keeps it.
  const store = await openStore(dir, { sync: false });
  // The admin-only sublevels (policies, API keys) in a LevelDB of their own: the store
  // reserves no extension name for them yet.
  const extra = new Level<string, Uint8Array>(join(dir, 'admin-db'), {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
  });
  await extra.open();
  const sublevel = (name: string): BytesSublevel =>
    extra.sublevel<string, Uint8Array>(name, { keyEncoding: 'utf8', valueEncoding: 'view' });
  const registry = new ModuleRegistry({ store, trust: { publishers: [PUBLISHER.publicKey] } });
  const audit = await AuditLog.open(store.extension('audit'), { signingKey: NODE_KEY, sync: false });
  const policies = await PolicyStore.open(sublevel('policies'));
  const gatewayKeys = new ApiKeyStore();
  const apiKeys = await PersistentApiKeys.open(sublevel('api-keys'), { keys: gatewayKeys });
  const masterKey = new MasterKey(new Uint8Array(32).fill(7), 'env');
  const secrets = new SecretStore(store.extension('secrets'), () => Promise.resolve(masterKey));
  const sandbox = new Sandbox({ pool: { size: 1 } });
  const policyChanges: PeerPolicy[][] = [];
  const published: PublishedModule[] = [];
  const admin = await createAdminServer({
    token,
    registry,
    audit,
    port: 0,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    mesh: { peers: () => options.peers ?? [] },
    policies,
    configPeers: options.configPeers ?? [],
    onPoliciesChanged: (all) => {
      policyChanges.push([...all]);
    },
    onPublished: async (module) => {
      published.push(module);
      return options.onPublished === undefined ? { recipients: 2 } : await options.onPublished(module);
    },
    secrets,
    apiKeys,
    // The daemon's local path: the registry's active version run in the real sandbox.
    invoke:
      options.invoke ??
      (async ({ name, request }) => {
        const served = await registry.resolve(name);
        const outcome = await sandbox.invoke(sandbox.prepare(served.moduleBytes), request, {
          programName: name,
        });
        return { outcome, servedBy: SELF_PEER };
      }),
  });
  await writeFile(join(dir, 'config.toml'), `[admin]\nlisten = "127.0.0.1:${admin.port}"\n`);
  return {
    dir,
    token,
    store,
    registry,
    audit,
    policies,
    apiKeys,
    gatewayKeys,
    secrets,
    sandbox,
    admin,
    policyChanges,
    published,
    manifestFor,
    async install(bytes, name, version) {
      await registry.install(bytes, manifestFor(bytes, name, version));
    },
    async close(closeOptions = {}) {
      await admin.close();
      await sandbox.close();
      await extra.close();
      await store.close();
      if (closeOptions.remove === true) await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

/** One admin API request; `token` null sends none. */
export function adminCall(
  node: Pick<AdminNode, 'admin' | 'token'>,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = node.token,
): Promise<Reply> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${node.admin.url}${path}`,
      {
        method,
        agent: false,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // left empty: the caller asserts on status and text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** The error code of an error answer. */
export function codeOf(reply: Reply): unknown {
  return (reply.body.error as { code?: unknown } | undefined)?.code;
}

/** The error message of an error answer ('' when none). */
export function messageOf(reply: Reply): string {
  const message = (reply.body.error as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : '';
}
