import { resolve } from 'node:path';
import { CAPABILITIES, isCapability, type Capability } from '@gojinn/abi';
import { GojinnError } from '@gojinn/errors';
import {
  MAX_DECLARED_MODULE_BYTES,
  checkImports,
  contentCid,
  declaredCapabilities,
  encodeManifest,
  moduleDigest,
  readModuleImports,
  readPrivateKeyFile,
  signManifest,
  type DeclaredCapabilities,
  type RequestedLimits,
} from '@gojinn/manifest';
import { EXIT_OK, UsageError, parseCommandArgs, type Command, type CommandIo } from '../command.ts';
import { defaultManifestPath, readBoundedFile, reportFailure, writeFileAtomic } from '../module-files.ts';
import { parseDuration, parseSize } from '../units.ts';

const USAGE = `Usage: gojinn sign <module.wasm> --key FILE --name NAME --version SEMVER [options]

Signs a module: writes a manifest (name, version, SHA-256 and size of the module, declared
capabilities and scopes, requested limits, publisher key, time, ed25519 signature) next to the
module as <module>.manifest.json. Refuses a module that is not valid (invalid_module) or whose
imports need a capability not declared with --cap (capability_denied).

Options:
  --key FILE             the publisher's private key file (from gojinn keygen)
  --name NAME            module name: lowercase letters, digits, '.', '_', '-' (at most 64)
  --version SEMVER       e.g. 1.2.3 or 1.2.3-rc.1 (no build metadata)
  --cap CAP[,CAP...]     declare capabilities: ${CAPABILITIES.join(', ')}
  --kv-prefix P          a key prefix kv.read/kv.write may touch (repeatable; '' = every key)
  --http-host PATTERN    an origin net.http may reach: scheme://host[:port], host may start
                         with '*.' (repeatable), e.g. https://*.example.com
  --secret NAME          a secret secrets.read may read (repeatable)
  --fuel N               requested fuel limit
  --memory SIZE          requested memory ceiling: bytes or a number with KiB, MiB, GiB
  --timeout DURATION     requested timeout: milliseconds or a number with ms, s
  --out FILE             where to write the manifest (default: <module>.manifest.json)
  --json                 print exactly one JSON object
  -h, --help             this text

Exit status: 0 signed, 1 refused (the error code says why), 2 bad usage or unreadable input.
`;

const OPTIONS = {
  key: { type: 'string' },
  name: { type: 'string' },
  version: { type: 'string' },
  cap: { type: 'string', multiple: true },
  'kv-prefix': { type: 'string', multiple: true },
  'http-host': { type: 'string', multiple: true },
  secret: { type: 'string', multiple: true },
  fuel: { type: 'string' },
  memory: { type: 'string' },
  timeout: { type: 'string' },
  out: { type: 'string' },
  json: { type: 'boolean' },
} as const;

interface SignPlan {
  modulePath: string;
  keyPath: string;
  manifestPath: string;
  name: string;
  version: string;
  capabilities: DeclaredCapabilities;
  limits: RequestedLimits;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined) throw new UsageError(`${flag} is required`);
  return value;
}

function parseCapabilities(values: string[] | undefined): Set<Capability> {
  const declared = new Set<Capability>();
  for (const value of values ?? []) {
    for (const name of value.split(',')) {
      if (!isCapability(name))
        throw new UsageError(`--cap: unknown capability '${name}' (known: ${CAPABILITIES.join(', ')})`);
      declared.add(name);
    }
  }
  return declared;
}

/**
 * Turns --cap and the scope flags into declared capabilities. A scoped capability needs at
 * least one scope entry and a scope flag needs its capability: nothing is implied.
 */
function buildCapabilities(values: {
  cap?: string[];
  'kv-prefix'?: string[];
  'http-host'?: string[];
  secret?: string[];
}): DeclaredCapabilities {
  const declared = parseCapabilities(values.cap);
  const prefixes = values['kv-prefix'] ?? [];
  const hosts = values['http-host'] ?? [];
  const secrets = values.secret ?? [];
  const capabilities: DeclaredCapabilities = {};
  const kv = (['kv.read', 'kv.write'] as const).filter((c) => declared.has(c));
  if (kv.length > 0 && prefixes.length === 0) {
    throw new UsageError(
      `${kv.join(' and ')} needs at least one --kv-prefix (--kv-prefix '' allows every key)`,
    );
  }
  if (kv.length === 0 && prefixes.length > 0)
    throw new UsageError('--kv-prefix needs --cap kv.read or --cap kv.write');
  for (const capability of kv) capabilities[capability] = { prefixes };
  if (declared.has('net.http') !== hosts.length > 0) {
    throw new UsageError(
      hosts.length > 0 ? '--http-host needs --cap net.http' : 'net.http needs at least one --http-host',
    );
  }
  if (hosts.length > 0) capabilities['net.http'] = { hosts };
  if (declared.has('secrets.read') !== secrets.length > 0) {
    throw new UsageError(
      secrets.length > 0 ? '--secret needs --cap secrets.read' : 'secrets.read needs at least one --secret',
    );
  }
  if (secrets.length > 0) capabilities['secrets.read'] = { names: secrets };
  if (declared.has('db.query')) capabilities['db.query'] = {};
  if (declared.has('debug.enable')) capabilities['debug.enable'] = {};
  return capabilities;
}

function buildLimits(values: { fuel?: string; memory?: string; timeout?: string }): RequestedLimits {
  const limits: RequestedLimits = {};
  if (values.fuel !== undefined) {
    if (!/^[1-9][0-9]{0,15}$/.test(values.fuel) || !Number.isSafeInteger(Number(values.fuel))) {
      throw new UsageError(
        `--fuel must be a positive integer up to ${Number.MAX_SAFE_INTEGER}, got '${values.fuel}'`,
      );
    }
    limits.fuel = Number(values.fuel);
  }
  if (values.memory !== undefined) limits.memoryBytes = parseSize(values.memory, '--memory');
  if (values.timeout !== undefined) limits.timeoutMs = parseDuration(values.timeout, '--timeout');
  return limits;
}

function plan(args: string[], io: CommandIo): SignPlan {
  const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
  if (positionals.length !== 1) throw new UsageError('expected exactly one module path');
  const modulePath = resolve(io.cwd, positionals[0] as string);
  return {
    modulePath,
    keyPath: resolve(io.cwd, required(values.key, '--key')),
    manifestPath: values.out === undefined ? defaultManifestPath(modulePath) : resolve(io.cwd, values.out),
    name: required(values.name, '--name'),
    version: required(values.version, '--version'),
    capabilities: buildCapabilities(values),
    limits: buildLimits(values),
  };
}

export const signCommand: Command = {
  name: 'sign',
  summary: 'Sign a module: write its manifest (hash, capabilities, limits, signature)',
  usage: USAGE,
  async run(args, io) {
    const json = args.includes('--json');
    try {
      const signPlan = plan(args, io);
      const moduleBytes = await readBoundedFile(signPlan.modulePath, 'module', MAX_DECLARED_MODULE_BYTES);
      const key = await readPrivateKeyFile(signPlan.keyPath);
      // The flags are checked first (signManifest: bad_request naming the field); then, before
      // anything is written, the module itself: invalid_module, or imports beyond the declaration.
      const manifest = signManifest(
        {
          name: signPlan.name,
          version: signPlan.version,
          ...moduleDigest(moduleBytes),
          capabilities: signPlan.capabilities,
          limits: signPlan.limits,
        },
        key.secretKey,
      );
      const required = checkImports(readModuleImports(moduleBytes), manifest.capabilities);
      await writeFileAtomic(signPlan.manifestPath, encodeManifest(manifest)).catch((error: unknown) => {
        throw new GojinnError(
          'bad_request',
          `cannot write manifest ${signPlan.manifestPath}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      });
      const declared = declaredCapabilities(manifest.capabilities);
      const unused = declared.filter((capability) => !required.includes(capability));
      const cid = contentCid(manifest.sha256);
      if (json) {
        io.stdout(
          `${JSON.stringify({ ok: true, manifestFile: signPlan.manifestPath, cid, unusedCapabilities: unused, manifest })}\n`,
        );
      } else {
        io.stdout(
          [
            `signed ${manifest.name}@${manifest.version} → ${signPlan.manifestPath}`,
            `  module        ${manifest.size} bytes, sha256 ${manifest.sha256}`,
            `  cid           ${cid}`,
            `  capabilities  ${declared.length === 0 ? 'none' : declared.join(', ')}`,
            `  publisher     ${manifest.publisher}`,
            '',
          ].join('\n'),
        );
        if (unused.length > 0)
          io.stderr(`note: declared but not imported by the module: ${unused.join(', ')}\n`);
      }
      return EXIT_OK;
    } catch (error) {
      return reportFailure('sign', error, json, io);
    }
  },
};
