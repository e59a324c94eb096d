import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InstallWrite } from '@gojinn/store';
import { Level } from 'level';

/** A fresh directory under the OS temp dir, and its removal. */
export async function tempDir(
  prefix = 'gojinn-store-',
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** An install of random (incompressible) bytes for one (name, publisher, version). */
export function sampleInstall(
  name: string,
  version: string,
  size = 4096,
  publisher = 'publisher-a',
): InstallWrite {
  return {
    key: { name, publisher, version },
    moduleBytes: randomBytes(size),
    manifestBytes: Buffer.from(
      JSON.stringify({ name, version, publisher, nonce: randomBytes(8).toString('hex') }),
    ),
    capabilities: ['kv.read'],
    state: { active: version, highest: version },
  };
}

/**
 * Every key and value of a data directory, read with a bare `level` (the store must be
 * closed): the byte-for-byte view the tests compare, independent of the store's own code.
 */
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

/** Byte-for-byte equality, whatever Uint8Array subclass (Buffer) each side is. */
export function assertSameBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  assert.ok(actual !== undefined, 'bytes are present');
  assert.equal(
    Buffer.compare(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength), Buffer.from(expected)),
    0,
  );
}
