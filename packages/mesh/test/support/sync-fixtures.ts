/** Signed records and level databases for the ledger and sync tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { signManifest, signRevocation } from '@gojinn/manifest';
import type { Manifest, PublisherKeyPair, Revocation, RevocationTarget } from '@gojinn/manifest';
import type { LedgerDatabase } from '../../src/gossip/index.ts';

export function manifestOf(key: PublisherKeyPair, name: string, version = '1.0.0'): Manifest {
  return signManifest({ name, version, sha256: 'e'.repeat(64), size: 100, capabilities: {} }, key.secretKey);
}

export function revocationOf(target: RevocationTarget, signer: PublisherKeyPair): Revocation {
  return signRevocation({ target }, signer.secretKey);
}

/** A level database in a temporary directory, reopenable at the same place, removed by `remove()`. */
export class TempLevel {
  readonly dir: string;
  #db: Level<string, Uint8Array> | undefined;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async create(): Promise<TempLevel> {
    return new TempLevel(await mkdtemp(join(tmpdir(), 'gojinn-ledger-')));
  }

  /** Opens the database and returns the `gossip` sublevel, as a node would give the ledger. */
  async open(): Promise<LedgerDatabase> {
    const db = new Level<string, Uint8Array>(this.dir, { valueEncoding: 'view' });
    await db.open();
    this.#db = db;
    return db.sublevel<string, Uint8Array>('gossip', { keyEncoding: 'utf8', valueEncoding: 'view' });
  }

  async close(): Promise<void> {
    await this.#db?.close();
    this.#db = undefined;
  }

  async remove(): Promise<void> {
    await this.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
