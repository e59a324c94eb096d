/**
 * Manifest verification throughput: the uncached path (strict shape check + ed25519 with
 * node:crypto, see src/signing.ts + trust) beside the cached path (VerificationCache hit: shape check, SHA-256 of
 * the signed bytes, trust), plus two baselines from the same run — tweetnacl's bare
 * `sign.detached.verify` on the same bytes, and Node's built-in ed25519 (OpenSSL), shown for
 * comparison only. Also verifyModule on a hit, for a 1 KiB and a 1 MiB module (the module's
 * SHA-256 is re-checked on every call). Rounds are interleaved so every variant sees the same
 * machine load; each figure is the median over rounds.
 *
 *   node bench/verify.ts [--rounds 5] [--ms 300]
 */
import { createPublicKey, randomBytes, verify as nodeVerify } from 'node:crypto';
import { parseArgs } from 'node:util';
import nacl from 'tweetnacl';
import {
  TrustPolicy,
  VerificationCache,
  keyPairFromSeed,
  manifestSigningBytes,
  moduleDigest,
  signManifest,
  verifyManifest,
  verifyModule,
  type Manifest,
  type ModuleImport,
} from '@gojinn/manifest';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, ms: { type: 'string', default: '300' } },
});
const ROUNDS = Number(values.rounds);
const ROUND_MS = Number(values.ms);

const publisher = keyPairFromSeed(new Uint8Array(32).fill(7));
const trust = new TrustPolicy({ publishers: [publisher.publicKey] });
const imports: ModuleImport[] = [
  { module: 'wasi_snapshot_preview1', name: 'fd_write', kind: 'function' },
  { module: 'gojinn', name: 'kv_get', kind: 'function' },
];

function manifestFor(bytes: Uint8Array): Manifest {
  return signManifest(
    {
      name: 'bench',
      version: '1.0.0',
      ...moduleDigest(bytes),
      capabilities: { 'kv.read': { prefixes: ['users/'] }, 'net.http': { hosts: ['https://*.example.com'] } },
      limits: { fuel: 1_000_000, memoryBytes: 1 << 20, timeoutMs: 1000 },
    },
    publisher.secretKey,
  );
}

const small = new Uint8Array(randomBytes(1024));
const large = new Uint8Array(randomBytes(1024 * 1024));
const smallManifest = manifestFor(small);
const largeManifest = manifestFor(large);
const signedBytes = manifestSigningBytes(smallManifest);
const signature = Buffer.from(smallManifest.signature, 'base64url');
// Node's ed25519 takes an SPKI key: the fixed 12-byte DER prefix for ed25519, then the 32 key bytes.
const nodeKey = createPublicKey({
  key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), publisher.publicKeyBytes]),
  format: 'der',
  type: 'spki',
});
const cache = new VerificationCache();
verifyManifest(smallManifest, trust, { cache });
verifyManifest(largeManifest, trust, { cache });

const variants: [string, () => void][] = [
  [
    'baseline: tweetnacl sign.detached.verify only',
    () => void nacl.sign.detached.verify(signedBytes, signature, publisher.publicKeyBytes),
  ],
  ['verifyManifest, uncached (node:crypto)', () => void verifyManifest(smallManifest, trust)],
  ['verifyManifest, cached', () => void verifyManifest(smallManifest, trust, { cache })],
  ['verifyModule 1 KiB, cached', () => void verifyModule(smallManifest, small, trust, imports, { cache })],
  ['verifyModule 1 MiB, cached', () => void verifyModule(largeManifest, large, trust, imports, { cache })],
  [
    'for comparison: bare node:crypto ed25519 verify',
    () => void nodeVerify(null, signedBytes, nodeKey, signature),
  ],
];

/** Runs `fn` for about ROUND_MS and returns operations per second. */
function measure(fn: () => void): number {
  let operations = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ROUND_MS) {
    fn();
    operations++;
    elapsed = performance.now() - started;
  }
  return (operations * 1000) / elapsed;
}

for (const [, fn] of variants) for (let i = 0; i < 3; i++) fn(); // warm up
const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, fn] of variants) samples.get(name)?.push(measure(fn));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const uncached = median(samples.get('verifyManifest, uncached (node:crypto)') ?? []);
process.stdout.write(
  `manifest verification, ${ROUNDS} rounds × ${ROUND_MS} ms, median (Node ${process.version})\n`,
);
for (const [name] of variants) {
  const rate = median(samples.get(name) ?? []);
  const perOp = rate > 0 ? 1e6 / rate : 0;
  process.stdout.write(
    `  ${name.padEnd(50)} ${rate.toFixed(0).padStart(9)} /s  ${perOp.toFixed(1).padStart(9)} µs  ×${(rate / uncached).toFixed(1)}\n`,
  );
}
process.stdout.write(
  `  (signed bytes: ${signedBytes.length}; cache hits ${cache.hits}, misses ${cache.misses})\n`,
);
