/**
 * Writes acknowledged to a guest survive `kill -9`: a child writes through the real pool in a
 * loop and prints each acknowledgement; it is killed at a random moment; the store, reopened,
 * must hold every acknowledged write, and each module's usage record must equal what is stored
 * (counted with a bare `level` read, not the kv code).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openStore } from '@gojinn/store';
import { Level } from 'level';
import { KvStore } from '../src/kv/kv-store.ts';
import { moduleIdentity } from './support/harness.ts';

const WRITER = new URL('./fixtures/kv-writer.ts', import.meta.url);
const ROUNDS = 4;

/** Runs the writer until it has acknowledged at least `minAcks`, then kills it after `extraMs`. */
async function runAndKill(dir: string, start: number, minAcks: number, extraMs: number): Promise<number[]> {
  const child = spawn(process.execPath, [WRITER.pathname, dir, String(start)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const acks: number[] = [];
  let buffered = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`writer made no progress: ${stderr}`)), 30_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) acks.push(Number(line.slice('ack '.length)));
      if (acks.length >= minAcks) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`writer exited early: ${stderr}`)));
  });
  await new Promise((resolve) => setTimeout(resolve, extraMs));
  child.kill('SIGKILL');
  await exited;
  // Acks printed before the kill but read after it count too: the guest saw them succeed.
  for (const line of buffered.split('\n')) if (line.startsWith('ack ')) acks.push(Number(line.slice(4)));
  return acks;
}

/** Every key of the kv sublevel read raw: entry count and key+value bytes per namespace, and the usage records. */
async function rawKv(
  location: string,
): Promise<{ entries: Map<string, { keys: number; bytes: number }>; usage: Map<string, string> }> {
  const db = new Level<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  try {
    const entries = new Map<string, { keys: number; bytes: number }>();
    const usage = new Map<string, string>();
    for await (const [key, value] of db.iterator({ gte: '!kv!', lt: '!kv"' })) {
      const inner = key.slice('!kv!'.length);
      const parts = inner.split('/');
      if (parts[0] === 'e' && parts.length === 4) {
        const namespace = `${parts[1]}/${parts[2]}`;
        const sum = entries.get(namespace) ?? { keys: 0, bytes: 0 };
        sum.keys += 1;
        sum.bytes += (parts[3] ?? '').length / 2 + value.byteLength;
        entries.set(namespace, sum);
      } else if (parts[0] === 'u' && parts.length === 3) {
        usage.set(`${parts[1]}/${parts[2]}`, Buffer.from(value).toString());
      } else {
        assert.fail(`unexpected key in the kv sublevel: ${inner}`);
      }
    }
    return { entries, usage };
  } finally {
    await db.close();
  }
}

void test('kv writes a guest saw succeed survive kill -9, and usage always matches the stored data', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gojinn-kv-crash-'));
  const location = join(dir, 'node');
  const module = moduleIdentity();
  try {
    let next = 0;
    const acked: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const acks = await runAndKill(location, next, 3 + Math.floor(Math.random() * 20), Math.random() * 40);
      acked.push(...acks);
      const highest = Math.max(...acked);
      const { entries, usage } = await rawKv(location);
      for (const [namespace, sum] of entries) {
        assert.deepEqual(
          JSON.parse(usage.get(namespace) ?? '{}'),
          sum,
          `usage of ${namespace} matches its entries`,
        );
      }
      const store = await openStore(location);
      try {
        const kv = new KvStore(store.extension('kv'));
        for (const i of acked) {
          assert.equal(
            Buffer.from((await kv.get(module, Buffer.from(`k${i}`))) ?? []).toString(),
            `v${i}`,
            `k${i}`,
          );
        }
        const counter = Number(Buffer.from((await kv.get(module, Buffer.from('counter'))) ?? []).toString());
        assert.ok(counter >= highest, `counter ${counter} is at least the last acknowledged ${highest}`);
        next = counter + 1;
      } finally {
        await store.close();
      }
    }
    assert.ok(acked.length >= ROUNDS * 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
