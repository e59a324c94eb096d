/**
 * docs/manifest.md's worked example is the code's output, byte for byte, and its signature
 * verifies with an independent ed25519 implementation (Node's OpenSSL) from the page alone.
 */
import { createPublicKey, verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeManifest,
  keyPairFromSeed,
  manifestSigningBytes,
  moduleDigest,
  parsePrivateKeyFile,
  signManifest,
} from '../src/index.ts';

const page = readFile(new URL('../../../docs/manifest.md', import.meta.url), 'utf8');

function fenced(text: string, language: string): string {
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)\\n```').exec(text);
  assert.ok(match, `docs/manifest.md has a \`\`\`${language} block`);
  return match[1] as string;
}

function hexDump(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = [...bytes.subarray(i, i + 16)];
    const hex = row.map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const ascii = row.map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${i.toString(16).padStart(8, '0')}  ${hex.padEnd(47)}  |${ascii}|`);
  }
  return lines.join('\n');
}

function example() {
  const pair = keyPairFromSeed(Uint8Array.from({ length: 32 }, (_, i) => i));
  const module = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
  const manifest = signManifest(
    {
      name: 'hello',
      version: '1.0.0',
      ...moduleDigest(module),
      capabilities: { 'kv.read': { prefixes: ['users/'] }, 'net.http': { hosts: ['https://*.example.com'] } },
      limits: { fuel: 1000000, memoryBytes: 1048576, timeoutMs: 2000 },
      created: '2026-01-31T12:00:00.000Z',
    },
    pair.secretKey,
  );
  return { pair, manifest, signed: manifestSigningBytes(manifest) };
}

void test('the worked example in docs/manifest.md is exactly what the code produces', async () => {
  const text = await page;
  const { pair, manifest, signed } = example();
  assert.equal(fenced(text, 'text'), new TextDecoder().decode(signed));
  assert.equal(fenced(text, 'hexdump'), hexDump(signed));
  assert.equal(`${fenced(text, 'json')}\n`, new TextDecoder().decode(encodeManifest(manifest)));
  assert.ok(text.includes(`these ${signed.length} bytes`));
  assert.ok(text.includes(pair.publicKey));
  assert.ok(text.includes(Buffer.from(pair.publicKeyBytes).toString('hex')));
  assert.ok(text.includes(Buffer.from(manifest.signature, 'base64url').toString('hex')));
});

void test('the example signature verifies with OpenSSL ed25519 from the page alone', async () => {
  const text = await page;
  const bytes = Buffer.from(
    fenced(text, 'hexdump')
      .split('\n')
      .map((line) => line.slice(10, 10 + 48).replace(/ /g, ''))
      .join(''),
    'hex',
  );
  const publicKeyHex = /\(hex `([0-9a-f]{64})`\)/.exec(text)?.[1];
  const signatureHex = /signature \(hex\n`([0-9a-f]{128})`\)/.exec(text)?.[1];
  assert.ok(publicKeyHex && signatureHex);
  const key = createPublicKey({
    key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKeyHex, 'hex')]),
    format: 'der',
    type: 'spki',
  });
  const signature = Buffer.from(signatureHex, 'hex');
  assert.equal(verify(null, bytes, key, signature), true);
  bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 1;
  assert.equal(verify(null, bytes, key, signature), false);
});

void test('the private key file example in docs/keys.md is a valid key file of the documented example key', async () => {
  const text = await readFile(new URL('../../../docs/keys.md', import.meta.url), 'utf8');
  const pair = parsePrivateKeyFile(new TextEncoder().encode(fenced(text, 'json')));
  assert.equal(pair.publicKey, example().pair.publicKey);
  assert.ok(text.includes(`\ned25519:${pair.publicKey.slice('ed25519:'.length)}\n`));
});
