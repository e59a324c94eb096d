import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { CORE_SUBLEVELS, checkStoreIntegrity, openStore } from '@gojinn/store';
import { rawSnapshot, tempDir } from './helpers.ts';

const INSTALL_LOOP = fileURLToPath(new URL('./fixtures/install-loop.ts', import.meta.url));
const ROUNDS = 20;
/** Kills aim at the start of one of the first MAX_TARGET_INSTALL installs of a round... */
const MAX_TARGET_INSTALL = 8;
/** ...plus a random delay of 0..MAX_KILL_DELAY_MS ms (0 included: kill as the install begins). */
const MAX_KILL_DELAY_MS = 3;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const dirs: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(dirs.map((remove) => remove()));
});

/** mulberry32: a seeded generator, so a failing run can be replayed from its printed seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const prefix = (sublevel: string): string => `!${sublevel}!`;

/**
 * Checks a data directory with a bare `level`, without the store's code: every content key
 * re-hashes, every record's blob/manifest/index/state exist, and nothing exists that no
 * record accounts for (an orphan would be the trace of a half-applied install).
 */
function assertConsistent(raw: Map<string, string>): Set<string> {
  const entries = (sublevel: string): Array<[string, Buffer]> =>
    [...raw]
      .filter(([key]) => key.startsWith(prefix(sublevel)))
      .map(([key, hex]) => [key.slice(prefix(sublevel).length), Buffer.from(hex, 'hex')]);
  const blobs = new Map(entries(CORE_SUBLEVELS.blobs));
  const manifests = new Map(entries(CORE_SUBLEVELS.manifests));
  const byHash = new Set(entries(CORE_SUBLEVELS.modulesByHash).map(([key]) => key));
  const states = new Map(
    entries(CORE_SUBLEVELS.moduleState).map(([k, v]) => [k, JSON.parse(v.toString()) as { active: string }]),
  );
  for (const [hash, bytes] of [...blobs, ...manifests])
    assert.equal(sha256(bytes), hash, `content under ${hash} re-hashes`);

  const usedBlobs = new Set<string>();
  const usedManifests = new Set<string>();
  const installed = new Set<string>();
  for (const [key, value] of entries(CORE_SUBLEVELS.modules)) {
    const record = JSON.parse(value.toString()) as {
      name: string;
      version: string;
      hash: string;
      manifestHash: string;
      size: number;
    };
    assert.equal(blobs.get(record.hash)?.byteLength, record.size, `${key}: blob present and whole`);
    assert.ok(manifests.has(record.manifestHash), `${key}: manifest present`);
    assert.ok(byHash.has(`${record.hash}/${key}`), `${key}: hash index entry present`);
    assert.ok(states.has(key.split('/').slice(0, 2).join('/')), `${key}: state present`);
    usedBlobs.add(record.hash);
    usedManifests.add(record.manifestHash);
    installed.add(key);
  }
  for (const hash of blobs.keys()) assert.ok(usedBlobs.has(hash), `orphan blob ${hash}`);
  for (const hash of manifests.keys()) assert.ok(usedManifests.has(hash), `orphan manifest ${hash}`);
  for (const key of byHash) assert.ok(installed.has(key.slice(65)), `orphan hash index entry ${key}`);
  for (const [key, state] of states)
    assert.ok(installed.has(`${key}/${state.active}`), `state ${key} points at ${state.active}`);
  return installed;
}

void test(`kill -9 during installs, ${ROUNDS} rounds: every module is whole or absent`, async (t) => {
  const seed = Number(process.env.GOJINN_CRASH_SEED ?? Date.now() % 1_000_000);
  t.diagnostic(`seed ${seed} (replay with GOJINN_CRASH_SEED=${seed})`);
  const random = seededRandom(seed);
  const dir = await tempDir('gojinn-crash-');
  dirs.push(dir.remove);
  let killedMidInstall = 0;

  for (let round = 0; round < ROUNDS; round += 1) {
    const child = spawn(process.execPath, [INSTALL_LOOP, dir.path, String(round)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    // One round in five is killed at a random moment from spawn (possibly while opening);
    // the others just as a randomly chosen install begins, plus 0..MAX_KILL_DELAY_MS ms.
    if (random() < 0.2) {
      await delay(Math.floor(random() * MAX_KILL_DELAY_MS * 20));
    } else {
      const target = `begin 1.0.${Math.floor(random() * MAX_TARGET_INSTALL)}\n`;
      await new Promise<void>((resolve) => {
        const onData = (): void => {
          if (stdout.includes(target)) {
            child.stdout.off('data', onData);
            resolve();
          }
        };
        child.stdout.on('data', onData);
        void exited.then(() => resolve());
      });
      await delay(Math.floor(random() * (MAX_KILL_DELAY_MS + 1)));
    }
    child.kill('SIGKILL');
    const [code, signal] = (await exited) as [number | null, string | null];
    assert.equal(
      signal,
      'SIGKILL',
      `round ${round}: child was killed, not finished (exit ${code}): ${stderr}`,
    );

    const acknowledged = stdout
      .split('\n')
      .filter((line) => line.startsWith('installed '))
      .map((line) => line.split(' ') as [string, string, string, string]);
    if (acknowledged.length > 0) killedMidInstall += 1;

    const installed = assertConsistent(await rawSnapshot(dir.path));
    // An install that resolved is durable: the OS had the write when the process died.
    for (const [, name, version] of acknowledged) {
      assert.ok(
        installed.has(`${name}/crash-publisher/${version}`),
        `round ${round}: acknowledged ${name}@${version} present`,
      );
    }
    const store = await openStore(dir.path);
    const report = await checkStoreIntegrity(store);
    await store.close();
    assert.deepEqual(report.problems, [], `round ${round}`);
    assert.equal(report.modulesChecked, installed.size);
  }
  t.diagnostic(`${killedMidInstall} of ${ROUNDS} rounds were killed after at least one install`);
  assert.ok(killedMidInstall > 0, 'some kills landed inside the install loop');
});
