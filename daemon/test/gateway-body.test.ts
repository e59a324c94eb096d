/**
 * The request body as the guest sees it, by framing: none (no Content-Length, no
 * Transfer-Encoding: answered without reading), Content-Length 0, a chunked body (empty or
 * not) and a sized one — over raw HTTP so the framing is exactly as written.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readExample } from '../../test/support/guests.ts';
import { openNode, rawExchange, serveNode, type Node } from './gateway-fixtures.ts';

let node: Node;
let url: string;
let close: () => Promise<void>;

before(async () => {
  node = await openNode();
  await node.install('hello', readExample('hello'));
  const { listening } = await serveNode(node, { publicFunctions: ['hello'] });
  url = listening.url;
  close = () => listening.close();
});
after(async () => {
  await close();
  await node.close();
});

/** hello's `echo` for a request with these framing lines and body bytes. */
async function echoOf(method: string, framing: string, body = ''): Promise<unknown> {
  const raw = await rawExchange(
    url,
    [[`${method} /fn/hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${framing}\r\n${body}`, 0]],
    3000,
  );
  assert.match(raw, /^HTTP\/1\.1 200 /, raw);
  const json = raw.slice(raw.indexOf('\r\n\r\n') + 4);
  return (JSON.parse(json) as { echo: unknown }).echo;
}

void test('no framing header: no body, even for a POST', async () => {
  assert.equal(await echoOf('GET', ''), null);
  assert.equal(await echoOf('POST', ''), null);
});

void test('Content-Length 0 and an empty chunked body are empty', async () => {
  assert.equal(await echoOf('POST', 'Content-Length: 0\r\n'), null);
  assert.equal(await echoOf('POST', 'Transfer-Encoding: chunked\r\n', '0\r\n\r\n'), null);
});

void test('sized and chunked bodies still reach the guest whole', async () => {
  assert.deepEqual(await echoOf('POST', 'Content-Length: 11\r\n', '{"name":1}\n'), { name: 1 });
  assert.deepEqual(
    await echoOf('POST', 'Transfer-Encoding: chunked\r\n', '5\r\n{"a":\r\n2\r\n2}\r\n0\r\n\r\n'),
    { a: 2 },
  );
});
