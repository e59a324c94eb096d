import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { AddressPolicy, MAX_ALLOWED_RANGES, parseRights, type CapabilityRights } from '@gojinn/capabilities';
import { MAX_NAME_LENGTH, NAME_PATTERN, parsePublicKey } from '@gojinn/manifest';
import {
  DEFAULT_INVOCATION_LIMITS,
  DEFAULT_POOL_OPTIONS,
  MAX_INVOCATION_LIMITS,
  WASM_PAGE_BYTES,
} from '@gojinn/sandbox';
import {
  Problem,
  bigInteger,
  boolean,
  integer,
  list,
  listenAddress,
  oneOf,
  text,
  type ValueKind,
} from './value-kinds.ts';

/**
 * The schema of the node's config file: every section, every key, its kind, default and
 * meaning. It is the single source of the parser (config-parser.ts), the commented config.toml
 * `gojinn init` writes (template.ts) and the tables of docs/config.md (a test keeps them equal).
 */

export interface FieldSpec {
  readonly key: string;
  // The kind's value type varies by field; config-parser.ts assembles the typed NodeConfig.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly kind: ValueKind<any>;
  /** The default; `undefined` for keys of array-of-tables entries that are optional or required. */
  readonly default: unknown;
  /** For array-of-tables entries: the key must be present. */
  readonly required?: boolean;
  /** One sentence for docs and the generated file. */
  readonly doc: string;
}

export interface SectionSpec {
  readonly name: string;
  /** `[[name]]`: an array of tables (each entry has the fields), rather than one `[name]` table. */
  readonly array: boolean;
  /** Most entries of an array of tables. */
  readonly maxEntries?: number;
  readonly doc: string;
  readonly fields: readonly FieldSpec[];
}

/** Largest config file read, in bytes (a config is a few KiB; this bounds a wrong path). */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** Most keys in [trust].publishers and [trust].operators each. */
export const MAX_TRUSTED_KEYS = 1_000;
/** Most [[peers]] entries. */
export const MAX_PEER_POLICIES = 10_000;
/** Most [[grants]] entries (the capabilities package's MAX_GRANT_RULES). */
export const MAX_GRANTS = 10_000;
/** Most peer ids in [mesh].allowPeers. */
const MAX_ALLOWED_PEERS = 10_000;

/** Most multiaddrs in [listen].addresses and in [mesh].bootstrap each. */
export const MAX_ADDRESSES = 100;
/** Most module names in [gateway].publicFunctions and in one [[peers]].modules. */
export const MAX_MODULE_NAMES = 10_000;
/** Most origins in [gateway].corsOrigins. */
export const MAX_CORS_ORIGINS = 100;
/** Longest string accepted by free-form keys (paths, multiaddrs, origins), in characters. */
export const MAX_TEXT_LENGTH = 4096;

const moduleName = text(
  `a module name (lowercase letters, digits, '.', '_', '-'; at most ${MAX_NAME_LENGTH} characters)`,
  MAX_NAME_LENGTH,
  (s) => NAME_PATTERN.test(s) || 'not a module name',
);

const publicKey = text('a public key ed25519:<43 base64url characters>', 128, (s) => {
  try {
    parsePublicKey(s);
    return true;
  } catch (error) {
    return (error as Error).message;
  }
});

function parsesAsMultiaddr(s: string): true | string {
  try {
    multiaddr(s);
    return true;
  } catch (error) {
    return (error as Error).message;
  }
}

const listenMultiaddr = text('a libp2p multiaddr such as "/ip4/127.0.0.1/tcp/4001"', MAX_TEXT_LENGTH, (s) =>
  !s.startsWith('/') ? 'a multiaddr starts with /' : parsesAsMultiaddr(s),
);

const bootstrapMultiaddr = text(
  'a multiaddr ending in /p2p/<peer id>, such as "/ip4/192.0.2.7/tcp/4001/p2p/12D3KooW..."',
  MAX_TEXT_LENGTH,
  (s) => {
    if (!s.startsWith('/')) return 'a multiaddr starts with /';
    const parsed = parsesAsMultiaddr(s);
    if (parsed !== true) return parsed;
    return /\/p2p\/[^/]+$/.test(s) || 'it does not name the peer with /p2p/<peer id>';
  },
);

const peerId = text('a libp2p peer id (12D3KooW… or Qm…)', 128, (s) => {
  try {
    peerIdFromString(s);
    return true;
  } catch {
    return 'not a peer id';
  }
});

const origin = text(
  'a web origin scheme://host[:port], such as "https://app.example.com"',
  MAX_TEXT_LENGTH,
  (s) => {
    try {
      const url = new URL(s);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === s
        ? true
        : 'an origin is exactly scheme://host[:port], no path or trailing slash';
    } catch {
      return 'not a URL';
    }
  },
);

const cidr = text('a CIDR range such as "10.0.0.0/8" or "fd00::/8"', 64, (s) => {
  try {
    new AddressPolicy({ allowedRanges: [s] });
    return true;
  } catch {
    return 'not a CIDR range';
  }
});

const directory = text(
  "a directory path (relative paths are taken from the config file's directory)",
  MAX_TEXT_LENGTH,
  (s) => (s.length > 0 && !s.includes('\0') ? true : 'empty or contains NUL'),
);

const peerModuleList = list(
  text('a module name or "*" (any module)', MAX_NAME_LENGTH, (s) =>
    s === '*' || NAME_PATTERN.test(s) ? true : 'not a module name',
  ),
  MAX_MODULE_NAMES,
);

/** A peer's modules: names, or "*" alone (["*", "notes"] would read as a narrowing it is not). */
const peerModules: ValueKind<readonly string[]> = {
  ...peerModuleList,
  check(value) {
    const checked = peerModuleList.check(value);
    if (!(checked instanceof Problem) && checked.includes('*') && checked.length > 1) {
      return new Problem('expected ["*"] alone or a list of module names, got "*" beside module names');
    }
    return checked;
  },
};

/** A capabilities table in the manifest's shapes (the capabilities package parses it). */
const rights: ValueKind<CapabilityRights> = {
  type: 'table',
  expected: 'a table of capabilities in the manifest\'s shapes, e.g. { "kv.read" = { prefixes = ["app/"] } }',
  check(value) {
    try {
      return parseRights(value, '');
    } catch (error) {
      // parseRights says "<path suffix> <problem>"; keep the suffix as part of the key path.
      const message = (error as Error).message;
      const space = message.indexOf(' ');
      return new Problem(message.slice(space + 1).replace(/^must be /, 'expected '), message.slice(0, space));
    }
  },
  toToml: () => '{}',
};

const L = DEFAULT_INVOCATION_LIMITS;
const MAX = MAX_INVOCATION_LIMITS;

export const CONFIG_SCHEMA: readonly SectionSpec[] = [
  {
    name: 'node',
    array: false,
    doc: 'The node itself: where its data lives and how strict it is.',
    fields: [
      {
        key: 'dataDir',
        kind: directory,
        default: '.',
        doc: 'Data directory (store, KV, secrets, admin token); "." is the directory of this file.',
      },
      {
        key: 'mode',
        kind: oneOf(['strict', 'development']),
        default: 'strict',
        doc: '"strict" for production; "development" allows debug features.',
      },
      {
        key: 'allowDebug',
        kind: boolean,
        default: false,
        doc: 'Let modules use debug.enable when granted; refused on a strict node.',
      },
    ],
  },
  {
    name: 'listen',
    array: false,
    doc: 'Where the libp2p peer listens.',
    fields: [
      {
        key: 'addresses',
        kind: list(listenMultiaddr, MAX_ADDRESSES),
        default: ['/ip4/127.0.0.1/tcp/4001'],
        doc: 'libp2p listen multiaddrs (loopback by default: open it up deliberately).',
      },
    ],
  },
  {
    name: 'mesh',
    array: false,
    doc: 'How the node finds and admits peers.',
    fields: [
      {
        key: 'bootstrap',
        kind: list(bootstrapMultiaddr, MAX_ADDRESSES),
        default: [],
        doc: 'Peers dialled at start, each with its /p2p/<peer id>.',
      },
      { key: 'mdns', kind: boolean, default: false, doc: 'Discover peers on the local network by mDNS.' },
      { key: 'maxConnections', kind: integer(1, 10_000), default: 100, doc: 'Most open peer connections.' },
      {
        key: 'allowPeers',
        kind: list(peerId, MAX_ALLOWED_PEERS),
        default: [],
        doc: 'When not empty, the only peers this node connects with: any other is refused after the Noise handshake proves its id, and never dialled.',
      },
      {
        key: 'unknownPeers',
        kind: oneOf(['deny', 'allow']),
        default: 'deny',
        doc: 'Peers without a [[peers]] entry: "deny" refuses their invocations; "allow" admits them with no capabilities and the default peer rates.',
      },
    ],
  },
  {
    name: 'trust',
    array: false,
    doc: 'Keys this node trusts.',
    fields: [
      {
        key: 'publishers',
        kind: list(publicKey, MAX_TRUSTED_KEYS),
        default: [],
        doc: 'Publisher keys whose signed modules this node installs.',
      },
      {
        key: 'operators',
        kind: list(publicKey, MAX_TRUSTED_KEYS),
        default: [],
        doc: 'Operator keys whose signed revocations and policies this node accepts.',
      },
    ],
  },
  {
    name: 'grants',
    array: true,
    maxEntries: MAX_GRANTS,
    doc: 'Capability grants: what the node gives to modules matching module and/or publisher (at least one).',
    fields: [
      { key: 'module', kind: moduleName, default: undefined, doc: 'The module name this rule applies to.' },
      {
        key: 'publisher',
        kind: publicKey,
        default: undefined,
        doc: 'The publisher key this rule applies to.',
      },
      {
        key: 'capabilities',
        kind: rights,
        default: undefined,
        required: true,
        doc: 'The most this rule grants, per capability, with scopes.',
      },
    ],
  },
  {
    name: 'peers',
    array: true,
    maxEntries: MAX_PEER_POLICIES,
    doc: 'Per-peer policies for federated invocations.',
    fields: [
      {
        key: 'id',
        kind: peerId,
        default: undefined,
        required: true,
        doc: 'The peer this policy applies to.',
      },
      {
        key: 'modules',
        kind: peerModules,
        default: undefined,
        required: true,
        doc: 'Modules the peer may invoke; ["*"] for any.',
      },
      {
        key: 'capabilities',
        kind: rights,
        default: {},
        doc: "Capability ceiling for the peer's invocations (default none: pure functions only).",
      },
      {
        key: 'ratePerSecond',
        kind: integer(1, 1_000_000),
        default: 50,
        doc: 'Invocations per second the peer may start.',
      },
      {
        key: 'maxConcurrent',
        kind: integer(1, 1_024),
        default: 8,
        doc: 'Invocations of the peer running at once.',
      },
    ],
  },
  {
    name: 'limits',
    array: false,
    doc: 'Per-invocation defaults and ceilings (a caller may only lower them), and the worker pool.',
    fields: [
      { key: 'fuel', kind: bigInteger(1n, MAX.fuel), default: L.fuel, doc: 'Fuel units per invocation.' },
      {
        key: 'memoryBytes',
        kind: integer(WASM_PAGE_BYTES, MAX.memoryBytes, { multipleOf: WASM_PAGE_BYTES }),
        default: L.memoryBytes,
        doc: 'Linear memory ceiling, bytes.',
      },
      {
        key: 'timeoutMs',
        kind: integer(1, MAX.timeoutMs),
        default: L.timeoutMs,
        doc: 'Wall-clock time per invocation, ms.',
      },
      {
        key: 'maxStdoutBytes',
        kind: integer(0, MAX.maxStdoutBytes),
        default: L.maxStdoutBytes,
        doc: 'Response (stdout) bytes kept.',
      },
      {
        key: 'maxStderrBytes',
        kind: integer(0, MAX.maxStderrBytes),
        default: L.maxStderrBytes,
        doc: 'Stderr bytes kept.',
      },
      {
        key: 'maxStdinBytes',
        kind: integer(0, MAX.maxStdinBytes),
        default: L.maxStdinBytes,
        doc: 'Request (stdin) bytes handed to a guest.',
      },
      { key: 'poolSize', kind: integer(0, 1_024), default: 0, doc: 'Worker threads; 0 means one per CPU.' },
      {
        key: 'maxQueue',
        kind: integer(0, 1 << 24),
        default: DEFAULT_POOL_OPTIONS.maxQueue,
        doc: 'Invocations waiting for a worker before new ones are refused as overloaded.',
      },
      {
        key: 'warmPool',
        kind: boolean,
        default: false,
        doc: 'Start the worker threads when the node starts, so the first call does not wait for them (~0.1-0.3 s); costs ~15 MiB per thread while idle.',
      },
    ],
  },
  {
    name: 'gateway',
    array: false,
    doc: 'The HTTP gateway (/fn/<name>).',
    fields: [
      {
        key: 'listen',
        kind: listenAddress,
        default: Object.freeze({ host: '127.0.0.1', port: 8080 }),
        doc: 'Address the gateway binds.',
      },
      {
        key: 'maxBodyBytes',
        kind: integer(0, MAX.maxStdinBytes),
        default: L.maxStdinBytes,
        doc: 'Largest request body; larger ones get 413.',
      },
      {
        key: 'publicFunctions',
        kind: list(moduleName, MAX_MODULE_NAMES),
        default: [],
        doc: 'Modules anyone may call without an API key.',
      },
      {
        key: 'corsOrigins',
        kind: list(origin, MAX_CORS_ORIGINS),
        default: [],
        doc: 'Origins allowed by CORS; none by default (CORS off).',
      },
      {
        key: 'ipRatePerSecond',
        kind: integer(1, 1_000_000),
        default: 50,
        doc: 'Requests per second one client IP may make; more get 429.',
      },
    ],
  },
  {
    name: 'admin',
    array: false,
    doc: 'The admin API (token in <dataDir>/admin.token).',
    fields: [
      {
        key: 'listen',
        kind: listenAddress,
        default: Object.freeze({ host: '127.0.0.1', port: 8081 }),
        doc: 'Address the admin API binds; loopback unless allowNonLoopback.',
      },
      {
        key: 'allowNonLoopback',
        kind: boolean,
        default: false,
        doc: 'Permit a non-loopback admin.listen (exposes the admin API to the network).',
      },
    ],
  },
  {
    name: 'audit',
    array: false,
    doc: 'Retention of the signed audit log (docs/audit.md, "Retention"): pruned entries leave a signed checkpoint.',
    fields: [
      {
        key: 'maxEntries',
        kind: integer(0, 1_000_000_000_000),
        default: 1_000_000,
        doc: 'Most audit entries kept (about 300-400 bytes each); the oldest beyond it are pruned. 0 keeps every entry.',
      },
      {
        key: 'maxAgeDays',
        kind: integer(0, 36_500),
        default: 0,
        doc: 'Prune audit entries older than this many days (after appends, and hourly). 0: no age bound.',
      },
    ],
  },
  {
    name: 'logging',
    array: false,
    doc: 'Structured logs.',
    fields: [
      {
        key: 'level',
        kind: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
        default: 'info',
        doc: 'Lowest level written.',
      },
    ],
  },
  {
    name: 'metrics',
    array: false,
    doc: 'The Prometheus /metrics endpoint (docs/observability.md), on a listener of its own.',
    fields: [
      { key: 'enabled', kind: boolean, default: true, doc: 'Serve GET /metrics.' },
      {
        key: 'listen',
        kind: listenAddress,
        default: Object.freeze({ host: '127.0.0.1', port: 9464 }),
        doc: 'Address the metrics endpoint binds; loopback unless allowNonLoopback.',
      },
      {
        key: 'allowNonLoopback',
        kind: boolean,
        default: false,
        doc: 'Permit a non-loopback metrics.listen (anyone who reaches it reads the metrics).',
      },
      {
        key: 'requireToken',
        kind: boolean,
        default: false,
        doc: 'Scrapes must send Authorization: Bearer <token> from <dataDir>/metrics.token (created at start).',
      },
    ],
  },
  {
    name: 'http',
    array: false,
    doc: 'The net.http capability.',
    fields: [
      {
        key: 'allowedRanges',
        kind: list(cidr, MAX_ALLOWED_RANGES),
        default: [],
        doc: 'Private/reserved address ranges guests may reach (none by default).',
      },
    ],
  },
];

/** Environment variables that override a key (validated like the file's value). */
export const ENV_OVERRIDES: readonly {
  readonly name: string;
  readonly keyPath: string;
  readonly doc: string;
}[] = [
  {
    name: 'GOJINN_DATA',
    keyPath: 'node.dataDir',
    doc: 'The data directory (relative paths from the working directory).',
  },
  { name: 'GOJINN_LOG_LEVEL', keyPath: 'logging.level', doc: 'The log level.' },
];

/** Environment variables read elsewhere, documented with the config. */
export const ENV_OTHER: readonly { readonly name: string; readonly doc: string }[] = [
  {
    name: 'GOJINN_CONFIG',
    doc: 'The config file, when no --config is given (default <data dir>/config.toml).',
  },
  {
    name: 'GOJINN_MASTER_KEY',
    doc: 'The master key for secrets at rest (64 hex digits); when unset, <dataDir>/master.key is used (created on first use, mode 0600). Never put it in the config file.',
  },
];
