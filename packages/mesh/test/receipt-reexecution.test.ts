/**
 * Deterministic re-execution: a receipt signed for a real sandbox run matches a second run of
 * the same module, request and seed; a receipt that lies about the response or the fuel is a
 * mismatch against its peer; runs that cannot be compared say why.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { signReceipt } from '../src/invoke/receipt.ts';
import type { Receipt } from '../src/invoke/receipt.ts';
import { requestSha256, responseSha256 } from '../src/invoke/protocol.ts';
import { compareReExecution } from '../src/routing/re-execution.ts';
import { TestExecutor, exampleWasm, guestRequest } from './support/invoke-executor.ts';
import type { LocalRun } from './support/invoke-executor.ts';

const key = await generateKeyPair('Ed25519');
const SEED = '3c'.repeat(32);
let executor: TestExecutor;

before(async () => {
  executor = await TestExecutor.create([
    { name: 'hello', version: '1.0.0', bytes: exampleWasm('hello') },
    { name: 'fib', version: '1.0.0', bytes: exampleWasm('fib') },
  ]);
});

after(() => executor.close());

async function run(name: string, uri: string, seed = SEED): Promise<{ run: LocalRun; receipt: Receipt }> {
  const request = guestRequest(uri, 'f0'.repeat(16));
  const result = await executor.run(executor.find({ name, range: '*' }), request, { seed, deadlineMs: 5000 });
  const response = result.outcome.response ?? assert.fail(`no response: ${result.outcome.error?.message}`);
  const receipt = await signReceipt(
    {
      moduleSha256: result.moduleSha256,
      requestSha256: requestSha256(request),
      responseSha256: responseSha256(response),
      fuelUsed: Number(result.outcome.fuelUsed),
      deterministic: result.outcome.deterministic,
      seed: result.outcome.seed,
      traceId: request.trace_id,
      time: new Date().toISOString(),
    },
    key,
  );
  return { run: result, receipt };
}

function local(r: LocalRun): {
  moduleSha256: string;
  seed: string;
  response: NonNullable<LocalRun['outcome']['response']>;
  fuelUsed: bigint;
} {
  return {
    moduleSha256: r.moduleSha256,
    seed: r.outcome.seed,
    response: r.outcome.response ?? assert.fail('no response'),
    fuelUsed: r.outcome.fuelUsed,
  };
}

void test('the same module, request and seed run again ⇒ match', async () => {
  const first = await run('hello', '/hello?name=Ada');
  const second = await run('hello', '/hello?name=Ada');
  assert.deepEqual(compareReExecution(first.receipt, local(second.run)), { verdict: 'match' });
});

void test('a receipt that lies about the response or the fuel ⇒ mismatch against its peer', async () => {
  const honest = await run('hello', '/hello?name=Ada');
  const lie = await signReceipt({ ...honest.receipt, responseSha256: 'e'.repeat(64) }, key);
  const again = await run('hello', '/hello?name=Ada');
  assert.deepEqual(compareReExecution(lie, local(again.run)), {
    verdict: 'mismatch',
    peer: peerIdFromPrivateKey(key).toString(),
    differences: ['responseSha256'],
  });
  const cheap = await signReceipt({ ...honest.receipt, fuelUsed: honest.receipt.fuelUsed - 1 }, key);
  assert.deepEqual(compareReExecution(cheap, local(again.run)), {
    verdict: 'mismatch',
    peer: peerIdFromPrivateKey(key).toString(),
    differences: ['fuelUsed'],
  });
  // A different request really gives a different response: the comparison can fail.
  const other = await run('hello', '/hello?name=Bo');
  assert.equal(compareReExecution(honest.receipt, local(other.run)).verdict, 'mismatch');
});

void test('not comparable: a non-deterministic run, another module, another seed', async () => {
  const hello = await run('hello', '/hello');
  const fib = await run('fib', '/');
  const nonDeterministic = await signReceipt({ ...hello.receipt, deterministic: false }, key);
  assert.equal(compareReExecution(nonDeterministic, local(hello.run)).verdict, 'not_comparable');
  assert.equal(compareReExecution(hello.receipt, local(fib.run)).verdict, 'not_comparable');
  const reseeded = await run('hello', '/hello', '4d'.repeat(32));
  assert.equal(compareReExecution(hello.receipt, local(reseeded.run)).verdict, 'not_comparable');
});
