import { StoreCorruptError } from './errors.ts';
import { SHA256_HEX } from './layout.ts';

/**
 * The JSON records the module index keeps. They are written only by the store, but read
 * back from disk, so every read re-validates the shape: a record that does not decode is
 * reported as StoreCorruptError rather than trusted.
 */

/** One installed module version. `publisher` is the manifest's publisher key in its text form. */
export interface ModuleKey {
  name: string;
  publisher: string;
  version: string;
}

export interface ModuleRecord extends ModuleKey {
  /** sha-256 hex of the module bytes: the blob's key. */
  hash: string;
  /** Module size in bytes. */
  size: number;
  /** sha-256 hex of the manifest bytes as received: the manifest's key. */
  manifestHash: string;
  /** Capabilities the manifest declares, for listings; the signed manifest stays the authority. */
  capabilities: string[];
  /** When the install committed (ISO 8601). */
  installedAt: string;
}

/** Install state of one (name, publisher). */
export interface ModuleState {
  /** The version served by `resolve`. */
  active: string;
  /** Highest version ever installed: installing below it is a rollback unless pinned. */
  highest: string;
}

type Json = Record<string, unknown>;

function parseObject(text: string, where: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StoreCorruptError(where, 'record is not JSON', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StoreCorruptError(where, 'record is not a JSON object');
  }
  return value as Json;
}

function text(record: Json, field: string, where: string): string {
  const value = record[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new StoreCorruptError(where, `field ${field} is not a non-empty string`);
  }
  return value;
}

function hash(record: Json, field: string, where: string): string {
  const value = text(record, field, where);
  if (!SHA256_HEX.test(value)) throw new StoreCorruptError(where, `field ${field} is not a sha-256 hex`);
  return value;
}

export function encodeModuleRecord(record: ModuleRecord): string {
  const { name, publisher, version, hash, size, manifestHash, capabilities, installedAt } = record;
  return JSON.stringify({ name, publisher, version, hash, size, manifestHash, capabilities, installedAt });
}

export function decodeModuleRecord(value: string, where: string): ModuleRecord {
  const record = parseObject(value, where);
  const size = record.size;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new StoreCorruptError(where, 'field size is not a byte count');
  }
  const capabilities = record.capabilities;
  if (!Array.isArray(capabilities) || !capabilities.every((c) => typeof c === 'string')) {
    throw new StoreCorruptError(where, 'field capabilities is not a list of strings');
  }
  return {
    name: text(record, 'name', where),
    publisher: text(record, 'publisher', where),
    version: text(record, 'version', where),
    hash: hash(record, 'hash', where),
    size,
    manifestHash: hash(record, 'manifestHash', where),
    capabilities: capabilities as string[],
    installedAt: text(record, 'installedAt', where),
  };
}

export function encodeModuleState(state: ModuleState): string {
  const { active, highest } = state;
  return JSON.stringify({ active, highest });
}

export function decodeModuleState(value: string, where: string): ModuleState {
  const record = parseObject(value, where);
  return { active: text(record, 'active', where), highest: text(record, 'highest', where) };
}
