/** Shared test fixtures: fixed keys, WAT modules assembled with wabt, a signed manifest factory. */
import {
  keyPairFromSeed,
  moduleDigest,
  signManifest,
  type DeclaredCapabilities,
  type Manifest,
  type ManifestFields,
  type PublisherKeyPair,
} from '../src/index.ts';
import { assembleWat } from '../../../test/support/wat.ts';

export const publisher: PublisherKeyPair = keyPairFromSeed(new Uint8Array(32).fill(1));
export const otherPublisher: PublisherKeyPair = keyPairFromSeed(new Uint8Array(32).fill(2));
export const operator: PublisherKeyPair = keyPairFromSeed(new Uint8Array(32).fill(3));

export const FIXED_TIME = '2026-01-31T12:00:00.000Z';

/** Assembles WAT text into module bytes (the project's one wabt helper). */
export const assemble = (wat: string): Promise<Uint8Array> => assembleWat(wat);

/** A WASI command importing one WASI function and the given `gojinn` host functions. */
export function watImporting(hostFunctions: readonly string[]): string {
  const imports = hostFunctions
    .map((name) => `(import "gojinn" "${name}" (func (param i32 i32 i32 i32) (result i32)))`)
    .join('\n  ');
  return `(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  ${imports}
  (memory (export "memory") 1)
  (func (export "_start")))`;
}

/** Every capability with a scope of each kind, so tampering tests can touch each one. */
export const ALL_CAPABILITIES: DeclaredCapabilities = {
  'kv.read': { prefixes: ['config/', 'users/'] },
  'kv.write': { prefixes: ['cache/'] },
  'db.query': {},
  'net.http': { hosts: ['https://*.example.com', 'https://api.example.org:8443'] },
  'secrets.read': { names: ['API_TOKEN'] },
  'debug.enable': {},
};

export function fieldsFor(bytes: Uint8Array, overrides: Partial<ManifestFields> = {}): ManifestFields {
  return {
    name: 'hello',
    version: '1.2.3',
    ...moduleDigest(bytes),
    capabilities: ALL_CAPABILITIES,
    limits: { fuel: 5_000_000, memoryBytes: 1024 * 1024, timeoutMs: 2_000 },
    created: FIXED_TIME,
    ...overrides,
  };
}

export function signedFor(
  bytes: Uint8Array,
  overrides: Partial<ManifestFields> = {},
  key = publisher,
): Manifest {
  return signManifest(fieldsFor(bytes, overrides), key.secretKey);
}

/** A deep copy of a manifest that a test may edit freely. */
export function copy<T>(value: T): T {
  return structuredClone(value);
}
