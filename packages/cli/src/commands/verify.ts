import { resolve } from 'node:path';
import {
  MAX_DECLARED_MODULE_BYTES,
  MAX_MANIFEST_BYTES,
  TrustPolicy,
  parseManifest,
  readModuleImports,
  verifyModule,
  type VerificationCheck,
  type VerifiedModule,
} from '@gojinn/manifest';
import { EXIT_OK, UsageError, parseCommandArgs, type Command, type CommandIo } from '../command.ts';
import { defaultManifestPath, readBoundedFile, reportFailure } from '../module-files.ts';

const USAGE = `Usage: gojinn verify <module.wasm> [--manifest FILE] [--trust KEY ...] [--json]

Checks a module against its signed manifest exactly as a node does before accepting it, and
prints each check: the manifest parses strictly; its ed25519 signature over the canonical bytes
is valid (signature_invalid); the publisher is one of the --trust keys (untrusted_publisher —
with no --trust, nothing is trusted); the module's size and SHA-256 are the signed ones
(signature_invalid, hash mismatch); the module is valid (invalid_module) and imports only what
its declared capabilities allow (capability_denied). Nothing is compiled or run.

Options:
  --manifest FILE   the manifest (default: <module>.manifest.json next to the module)
  --trust KEY       a trusted publisher key, ed25519:<base64url> (repeatable)
  --json            print exactly one JSON object
  -h, --help        this text

Exit status: 0 verified, 1 refused (the error code says why), 2 bad usage or unreadable input.
`;

const OPTIONS = {
  manifest: { type: 'string' },
  trust: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;

interface ReportedCheck {
  check: string;
  detail: string;
}

function summary(verified: VerifiedModule) {
  const { manifest } = verified;
  return {
    name: manifest.name,
    version: manifest.version,
    sha256: verified.sha256,
    cid: verified.cid,
    size: verified.size,
    publisher: verified.publisher,
    capabilities: manifest.capabilities,
    limits: manifest.limits,
    requiredCapabilities: verified.required,
    created: manifest.created,
  };
}

export const verifyCommand: Command = {
  name: 'verify',
  summary: 'Verify a module against its signed manifest and trusted publisher keys',
  usage: USAGE,
  async run(args, io: CommandIo) {
    const json = args.includes('--json');
    const checks: ReportedCheck[] = [];
    const passed = (check: ReportedCheck) => {
      checks.push(check);
      if (!json) io.stdout(`  ✓ ${check.check.padEnd(9)} ${check.detail}\n`);
    };
    try {
      const { values, positionals } = parseCommandArgs(args, OPTIONS, true);
      if (positionals.length !== 1) throw new UsageError('expected exactly one module path');
      const modulePath = resolve(io.cwd, positionals[0] as string);
      const manifestPath =
        values.manifest === undefined ? defaultManifestPath(modulePath) : resolve(io.cwd, values.manifest);
      const trust = new TrustPolicy({ publishers: values.trust ?? [] });
      const moduleBytes = await readBoundedFile(modulePath, 'module', MAX_DECLARED_MODULE_BYTES);
      const manifestBytes = await readBoundedFile(
        manifestPath,
        'manifest',
        MAX_MANIFEST_BYTES,
        'signature_invalid',
      );
      if (!json) io.stdout(`verifying ${modulePath}\n     with ${manifestPath}\n`);
      const manifest = parseManifest(manifestBytes);
      passed({
        check: 'manifest',
        detail: `${manifest.name}@${manifest.version}, schema ${manifest.schema}, parsed strictly`,
      });
      const verified = verifyModule(manifest, moduleBytes, trust, readModuleImports, {
        onCheck: (check: VerificationCheck) => passed(check),
      });
      if (json) io.stdout(`${JSON.stringify({ ok: true, checks, module: summary(verified) })}\n`);
      else io.stdout(`verified ${manifest.name}@${manifest.version} (${verified.cid})\n`);
      return EXIT_OK;
    } catch (error) {
      const status = reportFailure('verify', error, json, io, { checks });
      if (!json && (error as { code?: string }).code === 'untrusted_publisher' && !args.includes('--trust')) {
        io.stderr('note: no --trust keys were given, and nothing is trusted by default\n');
      }
      return status;
    }
  },
};
