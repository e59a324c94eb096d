import { chmod, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TrustPolicy, parseManifest, readModuleImports, sha256Hex, verifyModule } from '@gojinn/manifest';
import { assemble, gojinn, moduleImporting, onlyJson, workspace } from './signing-harness.ts';

async function withKey(dir: string): Promise<string> {
  const result = await gojinn(dir, 'keygen', '--out', 'pub.key');
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.trim();
}

void test('sign writes <module>.manifest.json next to the module with every flag reflected and a valid signature', async () => {
  const { dir, cleanup } = await workspace();
  try {
    const publicKey = await withKey(dir);
    const result = await gojinn(
      dir,
      'sign',
      'hello.wasm',
      '--key',
      'pub.key',
      '--name',
      'hello',
      '--version',
      '1.2.3-rc.1',
      '--cap',
      'kv.read,kv.write',
      '--cap',
      'net.http',
      '--cap',
      'secrets.read',
      '--kv-prefix',
      'users/',
      '--kv-prefix',
      'config/',
      '--http-host',
      'https://*.example.com',
      '--secret',
      'API_TOKEN',
      '--fuel',
      '5000000',
      '--memory',
      '2MiB',
      '--timeout',
      '3s',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^signed hello@1\.2\.3-rc\.1 → .*hello\.manifest\.json\n/);
    assert.match(
      result.stderr,
      /declared but not imported by the module: kv\.write, net\.http, secrets\.read/,
    );
    const moduleBytes = await readFile(join(dir, 'hello.wasm'));
    const manifest = parseManifest(await readFile(join(dir, 'hello.manifest.json')));
    assert.equal(manifest.publisher, publicKey);
    assert.equal(manifest.sha256, sha256Hex(moduleBytes));
    assert.equal(manifest.size, moduleBytes.length);
    assert.deepEqual(manifest.capabilities, {
      'kv.read': { prefixes: ['config/', 'users/'] },
      'kv.write': { prefixes: ['config/', 'users/'] },
      'net.http': { hosts: ['https://*.example.com'] },
      'secrets.read': { names: ['API_TOKEN'] },
    });
    assert.deepEqual(manifest.limits, { fuel: 5_000_000, memoryBytes: 2 * 1024 * 1024, timeoutMs: 3000 });
    const verified = verifyModule(
      manifest,
      moduleBytes,
      new TrustPolicy({ publishers: [publicKey] }),
      readModuleImports,
    );
    assert.deepEqual(verified.required, ['kv.read']);
  } finally {
    await cleanup();
  }
});

void test('sign --out and --json: exactly one JSON object holding the manifest', async () => {
  const { dir, cleanup } = await workspace();
  try {
    await withKey(dir);
    const args = ['sign', 'hello.wasm', '--key', 'pub.key', '--name', 'hello', '--version', '1.0.0'];
    const result = await gojinn(
      dir,
      ...args,
      '--cap',
      'kv.read',
      '--kv-prefix',
      '',
      '--out',
      'custom.json',
      '--json',
    );
    assert.equal(result.code, 0);
    const object = onlyJson(result);
    assert.equal(object.ok, true);
    assert.equal(object.manifestFile, join(dir, 'custom.json'));
    assert.match(object.cid as string, /^bafkrei/);
    assert.deepEqual(object.manifest, parseManifest(await readFile(join(dir, 'custom.json'))));
    assert.deepEqual((await readdir(dir)).sort(), ['custom.json', 'hello.wasm', 'pub.key']);
  } finally {
    await cleanup();
  }
});

void test('sign refuses a module importing an undeclared capability, writing nothing', async () => {
  const { dir, cleanup } = await workspace();
  try {
    await withKey(dir);
    await writeFile(join(dir, 'writer.wasm'), await moduleImporting('kv_get', 'kv_set'));
    const args = ['sign', 'writer.wasm', '--key', 'pub.key', '--name', 'writer', '--version', '1.0.0'];
    const none = await gojinn(dir, ...args);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /capability_denied: import gojinn\.kv_get needs capability kv\.read/);
    const onlyRead = onlyJson(await gojinn(dir, ...args, '--cap', 'kv.read', '--kv-prefix', 'a/', '--json'));
    assert.deepEqual(onlyRead.error, {
      code: 'capability_denied',
      message: 'import gojinn.kv_set needs capability kv.write, which the manifest does not declare',
    });
    assert.equal((await readdir(dir)).includes('writer.manifest.json'), false);
    const both = await gojinn(dir, ...args, '--cap', 'kv.read,kv.write', '--kv-prefix', 'a/');
    assert.equal(both.code, 0, both.stderr);
  } finally {
    await cleanup();
  }
});

void test('sign refuses an invalid module with invalid_module', async () => {
  const { dir, cleanup } = await workspace();
  try {
    await withKey(dir);
    await writeFile(
      join(dir, 'bad.wasm'),
      new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0xff]),
    );
    const result = onlyJson(
      await gojinn(
        dir,
        'sign',
        'bad.wasm',
        '--key',
        'pub.key',
        '--name',
        'bad',
        '--version',
        '1.0.0',
        '--json',
      ),
    );
    assert.equal((result.error as { code: string }).code, 'invalid_module');
    assert.equal((await readdir(dir)).includes('bad.manifest.json'), false);
  } finally {
    await cleanup();
  }
});

void test("sign applies the sandbox's validation, not only the engine's: an imported memory is invalid_module", async () => {
  const { dir, cleanup } = await workspace();
  try {
    await withKey(dir);
    const bytes = await assemble('(module (import "env" "memory" (memory 1)) (func (export "_start")))');
    assert.equal(WebAssembly.validate(bytes), true, 'V8 accepts it');
    await writeFile(join(dir, 'imported-memory.wasm'), bytes);
    const result = await gojinn(
      dir,
      'sign',
      'imported-memory.wasm',
      '--key',
      'pub.key',
      '--name',
      'm',
      '--version',
      '1.0.0',
      '--json',
    );
    assert.equal(result.code, 1);
    const error = onlyJson(result).error as { code: string; message: string };
    assert.equal(error.code, 'invalid_module');
    assert.match(error.message, /imported memory/);
  } finally {
    await cleanup();
  }
});

void test('sign: bad flags, values and key files are bad_request with exit 2, naming the problem', async () => {
  const { dir, cleanup } = await workspace();
  try {
    await withKey(dir);
    const base = [
      'sign',
      'hello.wasm',
      '--key',
      'pub.key',
      '--name',
      'hello',
      '--version',
      '1.0.0',
      '--cap',
      'kv.read',
    ];
    const cases: [string[], RegExp][] = [
      [base, /kv\.read needs at least one --kv-prefix/],
      [[...base.slice(0, -2), '--kv-prefix', 'a/'], /--kv-prefix needs --cap kv\.read or --cap kv\.write/],
      [[...base, '--kv-prefix', 'a', '--http-host', 'https://a.com'], /--http-host needs --cap net\.http/],
      [[...base, '--kv-prefix', 'a', '--cap', 'net.http'], /net\.http needs at least one --http-host/],
      [[...base, '--kv-prefix', 'a', '--cap', 'secrets.read'], /secrets\.read needs at least one --secret/],
      [[...base, '--kv-prefix', 'a', '--secret', 'X'], /--secret needs --cap secrets\.read/],
      [[...base, '--kv-prefix', 'a', '--cap', 'fs.read'], /unknown capability 'fs\.read'/],
      [
        [...base, '--kv-prefix', 'a', '--memory', '100000'],
        /'limits\.memoryBytes' is 100000; it must be a multiple of 65536/,
      ],
      [[...base, '--kv-prefix', 'a', '--memory', '1.5MiB'], /--memory: "1\.5MiB" is not a size/],
      [[...base, '--kv-prefix', 'a', '--timeout', '1h'], /--timeout: "1h" is not a duration/],
      [[...base, '--kv-prefix', 'a', '--fuel', '0'], /--fuel must be a positive integer/],
      [
        [...base, '--kv-prefix', 'a', '--http-host', 'https://example.com/', '--cap', 'net.http'],
        /hosts\[0\]/,
      ],
      [['sign', 'hello.wasm', '--key', 'pub.key', '--name', 'Hello', '--version', '1.0.0'], /field 'name'/],
      [['sign', 'hello.wasm', '--key', 'pub.key', '--name', 'hello', '--version', 'v1'], /field 'version'/],
      [['sign', 'hello.wasm', '--key', 'pub.key', '--name', 'hello'], /--version is required/],
      [['sign', 'hello.wasm', '--name', 'hello', '--version', '1.0.0'], /--key is required/],
      [
        ['sign', 'missing.wasm', '--key', 'pub.key', '--name', 'x', '--version', '1.0.0'],
        /cannot read module .*ENOENT/,
      ],
      [
        ['sign', 'hello.wasm', '--key', 'nokey', '--name', 'x', '--version', '1.0.0'],
        /cannot read private key file/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await gojinn(dir, ...args, '--json');
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stdout}`);
      const error = onlyJson(result).error as { code: string; message: string };
      assert.equal(error.code, 'bad_request');
      assert.match(error.message, message);
    }
    // Without --json a usage problem prints the usage text.
    const human = await gojinn(dir, 'sign', 'hello.wasm');
    assert.equal(human.code, 2);
    assert.match(human.stderr, /--key is required[\s\S]*Usage: gojinn sign/);
    await chmod(join(dir, 'pub.key'), 0o644);
    const exposed = await gojinn(
      dir,
      'sign',
      'hello.wasm',
      '--key',
      'pub.key',
      '--name',
      'hello',
      '--version',
      '1.0.0',
      '--cap',
      'kv.read',
      '--kv-prefix',
      '',
    );
    assert.equal(exposed.code, 2);
    assert.match(exposed.stderr, /accessible by group or others \(mode 644\)/);
    assert.equal((await readdir(dir)).includes('hello.manifest.json'), false);
  } finally {
    await cleanup();
  }
});
