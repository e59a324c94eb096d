import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeManifest, keyPairFromSeed, moduleDigest, signManifest } from '@gojinn/manifest';
import {
  PEER_A,
  PUBLISHER,
  helloBytes,
  manifestFor,
  startAdminNode,
  type AdminNode,
} from '../../../daemon/test/admin-harness.ts';
import { COMMANDS } from '../src/commands/index.ts';
import { gojinn, jsonOf } from './admin-cli-support.ts';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function node(options: Parameters<typeof startAdminNode>[0] = {}): Promise<AdminNode> {
  const started = await startAdminNode(options);
  cleanups.push(() => started.close({ remove: true }));
  return started;
}

async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-cli-admin-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

void test('status: finds the admin URL in the data dir config and the token in admin.token; human and --json', async () => {
  const n = await node();
  const human = await gojinn(n.dir, ['status', '--data', n.dir]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`admin\\s+${n.admin.url.replace(/[.]/g, '\\.')}`));
  assert.match(human.stdout, /node\s+ed25519:/);
  const json = await gojinn('/', ['status', '--data-dir', n.dir, '--json']);
  assert.equal(json.code, 0);
  const out = jsonOf(json);
  assert.equal(out.ok, true);
  assert.equal(out.admin, n.admin.url);
  assert.equal(typeof out.uptimeSeconds, 'number');
  // GOJINN_DATA names the data dir too, relative to the working directory.
  const fromEnv = await gojinn(join(n.dir, '..'), ['status', '--json'], { env: { GOJINN_DATA: n.dir } });
  assert.equal(fromEnv.code, 0, fromEnv.stdout);
});

void test("status failures: another node's token is unauthorized (1), no token file is bad usage (2), no node running is peer_unreachable (1)", async () => {
  const n = await node();
  const other = await node();
  // A data dir whose token is another node's, pointing at n.
  const dir = await workDir();
  await writeFile(join(dir, 'admin.token'), `${other.token}\n`, { mode: 0o600 });
  await chmod(join(dir, 'admin.token'), 0o600);
  const wrong = await gojinn(dir, ['status', '--data', dir, '--admin-url', n.admin.url, '--json']);
  assert.equal(wrong.code, 1);
  assert.deepEqual((jsonOf(wrong).error as { code: string }).code, 'unauthorized');

  const empty = await workDir();
  const noToken = await gojinn(empty, ['status', '--data', empty]);
  assert.equal(noToken.code, 2);
  assert.match(noToken.stderr, /bad_request: cannot read the admin token .*admin\.token: ENOENT/);

  const port = n.admin.port;
  await n.admin.close();
  const down = await gojinn(n.dir, ['status', '--data', n.dir, '--json']);
  assert.equal(down.code, 1);
  const error = jsonOf(down).error as { code: string; message: string };
  assert.equal(error.code, 'peer_unreachable');
  assert.match(error.message, new RegExp(`no node answers at http://127\\.0\\.0\\.1:${port}`));

  const remote = await gojinn(n.dir, ['status', '--data', n.dir, '--admin-url', 'http://192.0.2.1:8081']);
  assert.equal(remote.code, 2);
  assert.match(remote.stderr, /not loopback: the admin token would cross the network/);
});

void test('publish: uploads module and manifest, reports install and announcement; progress on request; refusals keep codes', async () => {
  const n = await node();
  const dir = await workDir();
  const bytes = helloBytes();
  await writeFile(join(dir, 'hello.wasm'), bytes);
  await writeFile(join(dir, 'hello.manifest.json'), manifestFor(bytes, 'hello', '1.0.0'));
  const published = await gojinn(dir, ['publish', 'hello.wasm', '--data', n.dir, '--progress']);
  assert.equal(published.code, 0, published.stderr);
  assert.equal(
    published.stdout,
    `installed hello@1.0.0 (sha256 ${sha256(bytes)}), active\nannounced to 2 peer(s)\n`,
  );
  assert.match(published.stderr, /publish: uploaded \d+\.\d of \d+\.\d MiB \(100%\)/);
  assert.equal(n.published.length, 1);

  const again = await gojinn(dir, [
    'publish',
    'hello.wasm',
    '--manifest',
    'hello.manifest.json',
    '--data',
    n.dir,
    '--json',
  ]);
  assert.equal(again.code, 0);
  assert.equal(jsonOf(again).installed, false);
  assert.equal(again.stderr, '', 'no progress without --progress or a terminal');

  const stranger = keyPairFromSeed(new Uint8Array(32).fill(88));
  await writeFile(
    join(dir, 'untrusted.json'),
    encodeManifest(
      signManifest(
        {
          name: 'hello',
          version: '2.0.0',
          ...moduleDigest(bytes),
          capabilities: {},
          created: '2026-01-31T12:00:00.000Z',
        },
        stranger.secretKey,
      ),
    ),
  );
  const refused = await gojinn(dir, [
    'publish',
    'hello.wasm',
    '--manifest',
    'untrusted.json',
    '--data',
    n.dir,
  ]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /^gojinn publish: untrusted_publisher: /);
  const missing = await gojinn(dir, ['publish', 'nope.wasm', '--data', n.dir, '--json']);
  assert.equal(missing.code, 2);
  assert.equal((jsonOf(missing).error as { code: string }).code, 'bad_request');
  const usage = await gojinn(dir, ['publish', '--data', n.dir]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /publish takes exactly one module file/);
});

void test('publish progress on a terminal redraws one line and ends it', async () => {
  const n = await node();
  const dir = await workDir();
  // Large enough to pass PROGRESS_MIN_BYTES once base64-encoded: the hello module plus a 1 MiB custom section.
  const base = helloBytes();
  const name = new TextEncoder().encode('pad');
  const payloadLength = 1024 * 1024;
  const contentLength = 1 + name.byteLength + payloadLength;
  const leb = [];
  for (let rest = contentLength; ;) {
    const byte = rest & 0x7f;
    rest >>>= 7;
    leb.push(rest === 0 ? byte : byte | 0x80);
    if (rest === 0) break;
  }
  const big = Buffer.concat([
    base,
    Uint8Array.of(0, ...leb, name.byteLength),
    name,
    new Uint8Array(payloadLength),
  ]);
  await writeFile(join(dir, 'big.wasm'), big);
  await writeFile(join(dir, 'big.manifest.json'), manifestFor(big, 'big', '1.0.0'));
  const run = await gojinn(dir, ['publish', 'big.wasm', '--data', n.dir], { tty: true });
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.stderr.startsWith('\rpublish: uploaded'), run.stderr.slice(0, 80));
  assert.ok(run.stderr.endsWith('(100%)\n'));
  assert.ok(run.stderr.split('\r').length > 2, 'redrawn as the upload goes');

  // A node with a smaller maxPublishBytes refuses it mid-upload: the CLI shows the node's answer.
  const small = await node({ limits: { maxPublishBytes: 512 * 1024 } });
  const refused = await gojinn(dir, ['publish', 'big.wasm', '--data', small.dir, '--json']);
  assert.equal(refused.code, 2);
  assert.match(
    (jsonOf(refused).error as { message: string }).message,
    /larger than maxPublishBytes \(524288\)/,
  );
});

void test('invoke: prints the response body, details on stderr; --json; failures exit 1 with the code', async () => {
  const n = await node();
  await n.install(helloBytes(), 'hello', '1.0.0');
  const run = await gojinn(n.dir, [
    'invoke',
    'hello',
    '--path',
    '/?name=cli',
    '--header',
    'X-Test: 1',
    '--data',
    n.dir,
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /cli/);
  assert.match(run.stderr, /^status 200\n/);
  assert.match(run.stderr, /served by 12D3KooW\w+, fuel \d+/);
  const json = await gojinn(n.dir, [
    'invoke',
    'hello',
    '--method',
    'post',
    '--body',
    '{"name":"json"}',
    '--data',
    n.dir,
    '--json',
  ]);
  assert.equal(json.code, 0, json.stdout);
  const out = jsonOf(json);
  assert.equal((out.outcome as { ok: boolean }).ok, true);
  assert.equal(json.stderr, '');
  const absent = await gojinn(n.dir, ['invoke', 'absent', '--data', n.dir, '--json']);
  assert.equal(absent.code, 1);
  assert.equal((jsonOf(absent).error as { code: string }).code, 'not_found');
  const badPeer = await gojinn(n.dir, ['invoke', 'hello', '--peer', 'x', '--data', n.dir]);
  assert.equal(badPeer.code, 2);
  const badHeader = await gojinn(n.dir, ['invoke', 'hello', '--header', 'nocolon', '--data', n.dir]);
  assert.equal(badHeader.code, 2);
  assert.match(badHeader.stderr, /is not 'Name: value'/);
  const stdinBody = await gojinn(
    n.dir,
    ['invoke', 'hello', '--method', 'POST', '--body', '-', '--data', n.dir],
    {
      stdin: '{"name":"stdin"}',
    },
  );
  assert.equal(stdinBody.code, 0, stdinBody.stderr);
});

void test('policy set / list / rm through the admin API; the node stores them and the hook sees them', async () => {
  const n = await node();
  const set = await gojinn(n.dir, [
    'policy',
    'set',
    PEER_A,
    '--modules',
    'hello,echo',
    '--rate',
    '5',
    '--concurrent',
    '2',
    '--capabilities',
    '{"kv.read":{"prefixes":["app/"]}}',
    '--data',
    n.dir,
  ]);
  assert.equal(set.code, 0, set.stderr);
  assert.match(
    set.stdout,
    /policy of 12D3KooW\w+: modules hello,echo, 5\/s, 2 at once, capabilities kv\.read/,
  );
  assert.deepEqual(n.policies.get(PEER_A)?.modules, ['hello', 'echo']);
  assert.equal(n.policyChanges.length, 1);
  const list = await gojinn(n.dir, ['policy', 'list', '--data', n.dir]);
  assert.match(list.stdout, /^PEER\s+SOURCE\s+MODULES/);
  assert.match(list.stdout, new RegExp(`${PEER_A}\\s+admin\\s+hello,echo\\s+5\\s+2\\s+kv\\.read`));
  const json = jsonOf(await gojinn(n.dir, ['policy', 'list', '--data', n.dir, '--json']));
  assert.equal((json.policies as unknown[]).length, 1);
  const refused = await gojinn(n.dir, [
    'policy',
    'set',
    PEER_A,
    '--modules',
    'hello',
    '--rate',
    '0',
    '--data',
    n.dir,
  ]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /policy\.ratePerSecond: expected an integer/);
  const rm = await gojinn(n.dir, ['policy', 'rm', PEER_A, '--data', n.dir]);
  assert.equal(rm.code, 0);
  assert.equal(n.policies.size, 0);
  const again = await gojinn(n.dir, ['policy', 'rm', PEER_A, '--data', n.dir, '--json']);
  assert.equal(again.code, 1);
  assert.equal((jsonOf(again).error as { code: string }).code, 'not_found');
  const noModules = await gojinn(n.dir, ['policy', 'set', PEER_A, '--data', n.dir]);
  assert.equal(noModules.code, 2);
  const stray = await gojinn(n.dir, ['policy', 'list', '--rate', '3', '--data', n.dir]);
  assert.equal(stray.code, 2);
});

void test('keys create prints the key once (it authenticates at the gateway at once); list never shows it; rm revokes', async () => {
  const n = await node();
  const created = await gojinn(n.dir, [
    'keys',
    'create',
    '--functions',
    'hello',
    '--id',
    'ci',
    '--rate',
    '2',
    '--burst',
    '4',
    '--data',
    n.dir,
  ]);
  assert.equal(created.code, 0, created.stderr);
  const key = created.stdout.trim();
  assert.match(key, /^gjk_[A-Za-z0-9_-]{43}$/);
  assert.match(created.stderr, /created API key ci for hello; the key is printed once/);
  assert.equal(n.gatewayKeys.authenticate(key)?.id, 'ci');
  const list = await gojinn(n.dir, ['keys', 'list', '--data', n.dir]);
  assert.match(list.stdout, /^ID\s+CREATED\s+RATE\s+FUNCTIONS\nci\s+\S+\s+2\/s burst 4\s+hello\n$/);
  assert.ok(!list.stdout.includes(key));
  const json = await gojinn(n.dir, ['keys', 'create', '--functions', 'a,b', '--data', n.dir, '--json']);
  assert.equal(json.code, 0);
  assert.match(jsonOf(json).key as string, /^gjk_/);
  const rm = await gojinn(n.dir, ['keys', 'rm', 'ci', '--data', n.dir]);
  assert.equal(rm.code, 0);
  assert.equal(n.gatewayKeys.authenticate(key), null);
  assert.equal((await gojinn(n.dir, ['keys', 'rm', 'ci', '--data', n.dir])).code, 1);
  assert.equal((await gojinn(n.dir, ['keys', 'create', '--data', n.dir])).code, 2);
  assert.equal(
    (await gojinn(n.dir, ['keys', 'create', '--functions', 'x', '--rate', '1', '--data', n.dir])).code,
    2,
  );
});

void test('modules: while the node holds the store the listing comes from its admin API; --remote too; --check refuses remote', async () => {
  const n = await node();
  await n.install(helloBytes(), 'hello', '1.0.0');
  const listed = await gojinn(n.dir, ['modules', '--data', n.dir, '--json']);
  assert.equal(listed.code, 0, listed.stdout);
  const out = jsonOf(listed);
  assert.equal(out.admin, n.admin.url);
  assert.deepEqual(
    (out.modules as Array<{ name: string; active: boolean }>).map((m) => [m.name, m.active]),
    [['hello', true]],
  );
  const human = await gojinn(n.dir, ['modules', '--remote', '--data', n.dir]);
  assert.match(human.stdout, /^MODULE\s+STATE/);
  assert.match(human.stdout, /hello@1\.0\.0\s+active/);
  const check = await gojinn(n.dir, ['modules', '--remote', '--check', '--data', n.dir]);
  assert.equal(check.code, 2);
});

void test('peers: the mesh peers with their policy flag', async () => {
  const n = await node({ peers: [{ id: PEER_A, addresses: ['/ip4/127.0.0.1/tcp/4001'], latencyMs: 0.8 }] });
  const run = await gojinn(n.dir, ['peers', '--data', n.dir]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`${PEER_A}\\s+0\\.8 ms\\s+no\\s+/ip4/127\\.0\\.0\\.1/tcp/4001`));
});

void test('every command answers --help with its usage (exit 0), and every admin command documents --json and its exit status', async () => {
  for (const command of COMMANDS) {
    const run = await gojinn('/', [command.name, '--help']);
    assert.equal(run.code, 0, command.name);
    assert.equal(run.stdout, command.usage);
    assert.match(command.usage, /Exit status/i, command.name);
  }
  for (const name of ['status', 'peers', 'publish', 'invoke', 'policy', 'keys']) {
    const usage = COMMANDS.find((c) => c.name === name)?.usage ?? '';
    assert.match(usage, /--json/, name);
    assert.match(usage, /--admin-url/, name);
  }
});

void test('secrets list: while the node holds the store the names come from its admin API, never a value', async () => {
  const n = await node();
  const value = 'v3ry-s3cret';
  await n.secrets.set(
    { name: 'hello', publisher: PUBLISHER.publicKey },
    'TOKEN',
    new TextEncoder().encode(value),
  );
  const human = await gojinn(n.dir, ['secrets', 'list', '--data', n.dir]);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^MODULE\s+NAME\s+PUBLISHER\nhello\s+TOKEN\s+ed25519:/);
  const json = jsonOf(await gojinn(n.dir, ['secrets', 'list', 'hello', '--data', n.dir, '--json']));
  assert.deepEqual(json, {
    ok: true,
    admin: n.admin.url,
    secrets: [{ module: 'hello', publisher: PUBLISHER.publicKey, name: 'TOKEN' }],
  });
  assert.ok(!human.stdout.includes(value));
  // set still needs the store itself: the lock is reported.
  const set = await gojinn(n.dir, ['secrets', 'set', 'hello', 'OTHER', '--value-stdin', '--data', n.dir], {
    stdin: 'x',
  });
  assert.equal(set.code, 1);
  assert.match(set.stderr, /store_locked/);
});
