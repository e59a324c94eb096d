/** Shared registry test fixtures: fixed keys, wasm modules assembled with wabt, signed manifests and revocations. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeManifest,
  encodeRevocation,
  keyPairFromSeed,
  moduleDigest,
  signManifest,
  signRevocation,
  type DeclaredCapabilities,
  type PublisherKeyPair,
  type RevocationTarget,
} from '@gojinn/manifest';
import { Level } from 'level';
import { assembleWat } from '../../../test/support/wat.ts';

export const publisher: PublisherKeyPair = keyPairFromSeed(new Uint8Array(32).fill(11));
export const otherPublisher: PublisherKeyPair = keyPairFromSeed(new Uint8Array(32).fill(12));
export const operator: PublisherKeyPair = keyPairFromSeed(new Uint8Array(32).fill(13));
export const stranger: PublisherKeyPair = keyPairFromSeed(new Uint8Array(32).fill(14));

export const FIXED_TIME = '2026-01-31T12:00:00.000Z';

/** Assembles WAT text into module bytes (the project's one wabt helper). */
export const assemble = (wat: string): Promise<Uint8Array> => assembleWat(wat);

/**
 * A WASI command importing fd_write and the given `gojinn` host functions. `tag` goes into a
 * data segment so each call can make distinct bytes (distinct versions, distinct hashes).
 */
export async function moduleImporting(hostFunctions: readonly string[] = [], tag = ''): Promise<Uint8Array> {
  const imports = hostFunctions
    .map((name) => `(import "gojinn" "${name}" (func (param i32 i32 i32 i32) (result i32)))`)
    .join('\n  ');
  return assemble(`(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  ${imports}
  (memory (export "memory") 1)
  (data (i32.const 0) "${tag}")
  (func (export "_start")))`);
}

/** `bytes` followed by one custom section whose payload brings the module to exactly `size` bytes. */
export function padToSize(bytes: Uint8Array, size: number): Uint8Array {
  const name = new TextEncoder().encode('pad');
  // section = id(1) + LEB(contentLength) + LEB(name length)(1) + name + payload
  for (let lebBytes = 1; lebBytes <= 5; lebBytes += 1) {
    const contentLength = size - bytes.byteLength - 1 - lebBytes;
    if (contentLength < 1 + name.byteLength || leb128(contentLength).length !== lebBytes) continue;
    const payload = new Uint8Array(contentLength - 1 - name.byteLength);
    const out = Buffer.concat([
      bytes,
      Uint8Array.of(0),
      leb128(contentLength),
      Uint8Array.of(name.byteLength),
      name,
      payload,
    ]);
    if (out.byteLength === size) return new Uint8Array(out);
  }
  throw new RangeError(`cannot pad ${bytes.byteLength} bytes to ${size}`);
}

function leb128(value: number): Uint8Array {
  const out: number[] = [];
  let rest = value;
  do {
    let byte = rest & 0x7f;
    rest >>>= 7;
    if (rest !== 0) byte |= 0x80;
    out.push(byte);
  } while (rest !== 0);
  return Uint8Array.of(...out);
}

export interface SignOptions {
  name?: string;
  version?: string;
  capabilities?: DeclaredCapabilities;
  key?: PublisherKeyPair;
}

/** The manifest file bytes for `moduleBytes`, signed by `key` (default: `publisher`). */
export function manifestFor(moduleBytes: Uint8Array, options: SignOptions = {}): Uint8Array {
  const manifest = signManifest(
    {
      name: options.name ?? 'hello',
      version: options.version ?? '1.0.0',
      ...moduleDigest(moduleBytes),
      capabilities: options.capabilities ?? {},
      created: FIXED_TIME,
    },
    (options.key ?? publisher).secretKey,
  );
  return encodeManifest(manifest);
}

/** The revocation file bytes for `target`, signed by `key`. */
export function revocationFor(target: RevocationTarget, key: PublisherKeyPair): Uint8Array {
  return encodeRevocation(signRevocation({ target, created: FIXED_TIME }, key.secretKey));
}

/** A fresh temp directory and its removal. */
export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'gojinn-registry-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Every key and value of a closed data directory, read with a bare `level`. */
export async function rawSnapshot(location: string): Promise<Map<string, string>> {
  const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    const entries = await db.iterator().all();
    return new Map(entries.map(([key, value]) => [key, Buffer.from(value).toString('hex')]));
  } finally {
    await db.close();
  }
}
