import { classifyImport, type Capability } from '@gojinn/abi';
import { GojinnError } from '@gojinn/errors';
import { contentCid, sha256Hex } from './content-hash.ts';
import { verifyManifestSignature } from './manifest.ts';
import { printable } from './quote.ts';
import { checkManifest, declaredCapabilities, type DeclaredCapabilities, type Manifest } from './schema.ts';
import type { JsonValue } from './strict-json.ts';
import type { TrustPolicy } from './trust.ts';
import type { VerificationCache } from './verification-cache.ts';

/** One import of a module, as the sandbox's parser reports it (`kind`: function, memory, table, global, tag). */
export interface ModuleImport {
  module: string;
  name: string;
  kind: string;
}

/**
 * The module's imports, or a function that reads them from the module bytes. The function
 * form is called only after the bytes matched the signed hash, so a node never parses bytes
 * that no trusted publisher vouched for.
 */
export type ImportSource = readonly ModuleImport[] | ((moduleBytes: Uint8Array) => readonly ModuleImport[]);

export type VerificationCheckName = 'signature' | 'publisher' | 'content' | 'imports';

/** One check verifyModule passed, in order; `gojinn verify` prints them. */
export interface VerificationCheck {
  check: VerificationCheckName;
  detail: string;
}

export interface VerifyOptions {
  /** Skips ed25519 for a manifest whose exact signed bytes verified before. */
  cache?: VerificationCache;
  /** Called after each check passes (so a caller can report progress up to a failure). */
  onCheck?: (check: VerificationCheck) => void;
}

/** A module that passed every check: only this may be compiled, stored or run. */
export interface VerifiedModule {
  /** A fresh, checked copy of the manifest. */
  manifest: Manifest;
  sha256: string;
  /** The same content hash as a CIDv1 (raw, sha2-256, base32). */
  cid: string;
  size: number;
  publisher: string;
  /** Capabilities the manifest declares, sorted. */
  declared: Capability[];
  /** Capabilities the module's imports need, sorted (a subset of `declared`). */
  required: Capability[];
  checks: VerificationCheck[];
}

/**
 * Checks a manifest on its own — what a gossip hop can do before the module bytes exist:
 * shape (a hand-built object is checked like a parsed one), then the signature over the
 * canonical bytes (`signature_invalid`), then that the publisher is trusted
 * (`untrusted_publisher`). Returns the checked copy the caller should use from then on.
 */
export function verifyManifest(
  manifest: Manifest,
  trust: TrustPolicy,
  options: VerifyOptions = {},
): Manifest {
  const checked = checkManifest(manifest as unknown as JsonValue, 'signature_invalid', true);
  const cached = options.cache?.has(checked) === true;
  if (!cached) {
    verifyManifestSignature(checked);
    options.cache?.remember(checked);
  }
  options.onCheck?.({
    check: 'signature',
    detail: `ed25519 signature by ${checked.publisher} over ${checked.name}@${checked.version} is valid${cached ? ' (cached)' : ''}`,
  });
  if (!trust.trustsPublisher(checked.publisher)) {
    throw new GojinnError(
      'untrusted_publisher',
      `publisher ${checked.publisher} is not trusted by this node (${trust.publishers.length} trusted publisher keys)`,
    );
  }
  options.onCheck?.({ check: 'publisher', detail: `publisher ${checked.publisher} is trusted` });
  return checked;
}

/**
 * The only way a module enters a node. In this order, each failure thrown as a GojinnError
 * and nothing compiled before all pass: signature over the canonical manifest bytes
 * (`signature_invalid`); publisher trusted (`untrusted_publisher`); size and SHA-256 of the
 * bytes equal the signed ones (`signature_invalid`, "module hash mismatch"); every import
 * provided and its capability declared (`capability_denied` naming import and capability).
 */
export function verifyModule(
  manifest: Manifest,
  moduleBytes: Uint8Array,
  trust: TrustPolicy,
  imports: ImportSource,
  options: VerifyOptions = {},
): VerifiedModule {
  const checks: VerificationCheck[] = [];
  const record = (check: VerificationCheck) => {
    checks.push(check);
    options.onCheck?.(check);
  };
  const checked = verifyManifest(manifest, trust, { ...options, onCheck: record });
  const sha256 = checkContent(checked, moduleBytes);
  record({ check: 'content', detail: `module is ${checked.size} bytes with sha256 ${sha256}, as signed` });
  const importList = typeof imports === 'function' ? imports(moduleBytes) : imports;
  const required = checkImports(importList, checked.capabilities);
  record({
    check: 'imports',
    detail: `${importList.length} imports, all provided; capabilities needed: ${required.length === 0 ? 'none' : required.join(', ')}`,
  });
  return {
    manifest: checked,
    sha256,
    cid: contentCid(sha256),
    size: checked.size,
    publisher: checked.publisher,
    declared: declaredCapabilities(checked.capabilities),
    required,
    checks,
  };
}

/** Checks size, then SHA-256, of `moduleBytes` against the manifest; returns the hash. */
function checkContent(manifest: Manifest, moduleBytes: Uint8Array): string {
  if (moduleBytes.byteLength !== manifest.size) {
    throw new GojinnError(
      'signature_invalid',
      `module hash mismatch: manifest signs ${manifest.size} bytes, the module is ${moduleBytes.byteLength} bytes`,
    );
  }
  const sha256 = sha256Hex(moduleBytes);
  if (sha256 !== manifest.sha256) {
    throw new GojinnError(
      'signature_invalid',
      `module hash mismatch: manifest says sha256 ${manifest.sha256}, bytes hash to ${sha256}`,
    );
  }
  return sha256;
}

/**
 * Checks imports ⊆ what Gojinn provides and the manifest declares: WASI preview1 and
 * `gojinn.log` always, every other `gojinn` function only with its capability declared.
 * Anything else — unknown functions, non-function imports — is `capability_denied` naming the
 * import. Returns the capabilities the imports need, sorted.
 */
export function checkImports(
  imports: readonly ModuleImport[],
  capabilities: DeclaredCapabilities,
): Capability[] {
  const required = new Set<Capability>();
  for (const { module, name, kind } of imports) {
    const label = `import ${printable(module)}.${printable(name)}`;
    if (kind !== 'function') {
      throw new GojinnError(
        'capability_denied',
        `${label} is a ${printable(kind)}; Gojinn provides only functions to guests`,
      );
    }
    const requirement = classifyImport(module, name);
    if (requirement.kind === 'unknown')
      throw new GojinnError('capability_denied', `${label} is not a function Gojinn provides`);
    if (requirement.kind !== 'capability') continue;
    if (capabilities[requirement.capability] === undefined) {
      throw new GojinnError(
        'capability_denied',
        `${label} needs capability ${requirement.capability}, which the manifest does not declare`,
      );
    }
    required.add(requirement.capability);
  }
  return [...required].sort();
}
