/**
 * A lying server: a real node speaking `/gojinn/invoke/1.0.0` that answers with receipts and
 * responses it crafts. The caller (`invokeRemote`) must refuse every answer that is not a
 * receipt signed by the peer it called about exactly this call and this response.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { GojinnError } from '@gojinn/errors';
import type { GuestResponse } from '@gojinn/sandbox';
import { TestMesh } from './support/nodes.ts';
import { guestRequest } from './support/invoke-executor.ts';
import { connect } from './support/invoke-nodes.ts';
import { loadOrCreateNodeIdentity } from '../src/identity.ts';
import { defineProtocol } from '../src/request-response.ts';
import { INVOKE_PROTOCOL_SPEC, invokeRemote, requestSha256, responseSha256 } from '../src/invoke/protocol.ts';
import { parseInvokeCall } from '../src/invoke/messages.ts';
import type { InvokeCall } from '../src/invoke/messages.ts';
import { receiptSigningBytes, signReceipt, signReceiptBatch } from '../src/invoke/receipt.ts';
import type { Receipt, ReceiptClaims, SingleReceipt } from '../src/invoke/receipt.ts';
import type { MeshNode } from '../src/node.ts';

const mesh = new TestMesh();
let liar: MeshNode;
let liarKey: PrivateKey;
let otherKey: PrivateKey;
let c: MeshNode;
/** What the liar answers with, given the call it received and an honest answer. */
let craft: (call: InvokeCall, honest: { response: GuestResponse; claims: ReceiptClaims }) => Promise<unknown>;

const RESPONSE: GuestResponse = { status: 200, headers: { 'content-type': 'text/plain' }, body: 'hi' };

before(async () => {
  const dataDir = await mesh.dataDir();
  liarKey = (await loadOrCreateNodeIdentity(dataDir)).privateKey;
  otherKey = await generateKeyPair('Ed25519');
  liar = await mesh.node({ dataDir });
  c = await mesh.node();
  await defineProtocol(INVOKE_PROTOCOL_SPEC).handle(liar.libp2p, async (bytes) => {
    const call = parseInvokeCall(bytes);
    const claims: ReceiptClaims = {
      moduleSha256: 'a'.repeat(64),
      requestSha256: requestSha256(call.request),
      responseSha256: responseSha256(RESPONSE),
      fuelUsed: 100,
      deterministic: true,
      seed: call.seed ?? 'b'.repeat(64),
      traceId: call.request.trace_id,
      time: new Date().toISOString(),
    };
    const answer = await craft(call, { response: RESPONSE, claims });
    return typeof answer === 'string'
      ? new TextEncoder().encode(answer)
      : new TextEncoder().encode(JSON.stringify(answer));
  });
  await connect(c, liar);
});

after(() => mesh.close());

const call = (): InvokeCall => ({
  module: { name: 'hello', range: '1' },
  request: guestRequest('/hello'),
  deadlineMs: 5_000,
  seed: 'c'.repeat(64),
});

const isCode = (code: string, pattern?: RegExp) => (error: unknown) =>
  error instanceof GojinnError &&
  error.code === code &&
  (pattern === undefined || pattern.test(error.message));

void test('an honest answer from the same server is accepted (the harness can pass)', async () => {
  craft = async (_call, honest) => ({
    response: honest.response,
    receipt: await signReceipt(honest.claims, liarKey),
  });
  const answer = await invokeRemote(c.libp2p, liar.peerId, call());
  assert.deepEqual(answer.response, RESPONSE);
  assert.equal(answer.receipt.peer, liar.peerId.toString());
});

void test('a receipt about another request, trace, response or seed, or another module than the hash called ⇒ bad_response', async () => {
  const lies: [string, Partial<ReceiptClaims>][] = [
    ['requestSha256', { requestSha256: 'd'.repeat(64) }],
    ['traceId', { traceId: 'e'.repeat(32) }],
    ['responseSha256', { responseSha256: 'f'.repeat(64) }],
    ['seed', { seed: '1'.repeat(64) }],
  ];
  for (const [field, lie] of lies) {
    craft = async (_call, honest) => ({
      response: honest.response,
      receipt: await signReceipt({ ...honest.claims, ...lie }, liarKey),
    });
    await assert.rejects(
      invokeRemote(c.libp2p, liar.peerId, call()),
      isCode('bad_response', new RegExp(field)),
      field,
    );
  }
  craft = async (_call, honest) => ({
    response: honest.response,
    receipt: await signReceipt(honest.claims, liarKey),
  });
  await assert.rejects(
    invokeRemote(c.libp2p, liar.peerId, { ...call(), module: { sha256: '9'.repeat(64) } }),
    isCode('bad_response', /moduleSha256/),
  );
});

void test('a response changed after signing ⇒ bad_response', async () => {
  craft = async (_call, honest) => ({
    response: { ...honest.response, body: 'changed' },
    receipt: await signReceipt(honest.claims, liarKey),
  });
  await assert.rejects(invokeRemote(c.libp2p, liar.peerId, call()), isCode('bad_response', /responseSha256/));
});

void test('a receipt by another peer, or claiming to be the server but signed by another key ⇒ signature_invalid', async () => {
  craft = async (_call, honest) => ({
    response: honest.response,
    receipt: await signReceipt(honest.claims, otherKey),
  });
  await assert.rejects(
    invokeRemote(c.libp2p, liar.peerId, call()),
    isCode('signature_invalid', /not from the peer called/),
  );
  craft = async (_call, honest) => {
    const forged: Receipt = { ...(await signReceipt(honest.claims, otherKey)), peer: liar.peerId.toString() };
    return { response: honest.response, receipt: forged };
  };
  await assert.rejects(
    invokeRemote(c.libp2p, liar.peerId, call()),
    isCode('signature_invalid', /does not verify/),
  );
});

void test('malformed answers ⇒ bad_response (or signature_invalid for the receipt itself)', async () => {
  const answers: [string, unknown, string][] = [
    ['not JSON', '{"response":', 'bad_response'],
    ['an array', '[]', 'bad_response'],
    ['duplicate keys', '{"response":{"status":200},"response":{"status":200},"receipt":{}}', 'bad_response'],
    ['no receipt', { response: RESPONSE }, 'signature_invalid'],
    ['extra field', { response: RESPONSE, receipt: {}, more: 1 }, 'bad_response'],
    ['bad status', { response: { status: 99, headers: {}, body: '' }, receipt: {} }, 'bad_response'],
    [
      'bad header name',
      { response: { status: 200, headers: { 'a b': 'x' }, body: '' }, receipt: {} },
      'bad_response',
    ],
    [
      'header value with a newline',
      { response: { status: 200, headers: { a: 'x\r\nSet-Cookie: y' }, body: '' }, receipt: {} },
      'bad_response',
    ],
    ['receipt not an object', { response: RESPONSE, receipt: 'signed, honestly' }, 'signature_invalid'],
  ];
  for (const [what, answer, code] of answers) {
    craft = async () => answer;
    await assert.rejects(invokeRemote(c.libp2p, liar.peerId, call()), isCode(code), what);
  }
});

void test('batches: a genuine sibling about another call ⇒ bad_response; a forged leaf on a genuine proof ⇒ signature_invalid', async () => {
  const otherCall = (claims: ReceiptClaims): ReceiptClaims => ({
    ...claims,
    requestSha256: '7'.repeat(64),
    traceId: '7'.repeat(32),
  });
  // Honest: the call's receipt at index 0 of a batch of 3 with other calls.
  craft = async (_call, honest) => ({
    response: honest.response,
    receipt: signReceiptBatch(
      [honest.claims, otherCall(honest.claims), otherCall(honest.claims)],
      liarKey,
    )[0],
  });
  const answer = await invokeRemote(c.libp2p, liar.peerId, call());
  assert.equal(answer.receipt.schema === 2 && answer.receipt.batch.size, 3);
  craft = async (_call, honest) => ({
    response: honest.response,
    receipt: signReceiptBatch([otherCall(honest.claims), honest.claims], liarKey)[0],
  });
  await assert.rejects(invokeRemote(c.libp2p, liar.peerId, call()), isCode('bad_response', /requestSha256/));
  // The sibling's proof and the batch signature, with this call's claims pasted in.
  craft = async (_call, honest) => {
    const [sibling] = signReceiptBatch([otherCall(honest.claims), honest.claims], liarKey);
    return { response: honest.response, receipt: { ...sibling, ...honest.claims } };
  };
  await assert.rejects(
    invokeRemote(c.libp2p, liar.peerId, call()),
    isCode('signature_invalid', /does not verify/),
  );
  // More receipts than a batch may hold, or a path too long: refused before any hashing.
  craft = async (_call, honest) => {
    const receipt = await signReceipt(honest.claims, liarKey);
    return { response: honest.response, receipt: { ...receipt, batch: { size: 65, index: 64, path: [] } } };
  };
  await assert.rejects(
    invokeRemote(c.libp2p, liar.peerId, call()),
    isCode('signature_invalid', /batch\.size/),
  );
});

void test('a schema-1 receipt (a server not yet upgraded) is still accepted; a tampered one is not', async () => {
  const schema1 = async (claims: ReceiptClaims): Promise<SingleReceipt> => {
    const unsigned = { schema: 1 as const, peer: liar.peerId.toString(), ...claims };
    const signature = Buffer.from(await liarKey.sign(receiptSigningBytes(unsigned))).toString('base64url');
    return { ...unsigned, signature };
  };
  craft = async (_call, honest) => ({ response: honest.response, receipt: await schema1(honest.claims) });
  const answer = await invokeRemote(c.libp2p, liar.peerId, call());
  assert.equal(answer.receipt.schema, 1);
  craft = async (_call, honest) => ({
    response: honest.response,
    receipt: { ...(await schema1(honest.claims)), fuelUsed: 1 },
  });
  await assert.rejects(
    invokeRemote(c.libp2p, liar.peerId, call()),
    isCode('signature_invalid', /does not verify/),
  );
});
