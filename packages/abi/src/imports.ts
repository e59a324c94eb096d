import type { Capability } from './capabilities.ts';
import { HOST_MODULE, capabilityOfHostFunction } from './host-functions.ts';
import { WASI_FUNCTIONS, WASI_MODULE } from './wasi.ts';

const WASI_SET: ReadonlySet<string> = new Set(WASI_FUNCTIONS);

/** What a function import of a guest needs in order to link. */
export type ImportRequirement =
  { kind: 'wasi' } | { kind: 'log' } | { kind: 'capability'; capability: Capability } | { kind: 'unknown' };

/** Classifies one function import `module.name` of a guest module. */
export function classifyImport(module: string, name: string): ImportRequirement {
  if (module === WASI_MODULE) return WASI_SET.has(name) ? { kind: 'wasi' } : { kind: 'unknown' };
  if (module === HOST_MODULE) {
    const capability = capabilityOfHostFunction(name);
    if (capability === undefined) return { kind: 'unknown' };
    return capability === 'log' ? { kind: 'log' } : { kind: 'capability', capability };
  }
  return { kind: 'unknown' };
}
