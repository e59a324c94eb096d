/**
 * The SSRF defence, adversarially: every address class the brief names, names that resolve to
 * them, redirects into them, DNS rebinding. Servers listen on loopback only; where a refused
 * address could be served (loopback), a real server listens there to prove it gets nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpFetcher } from '../src/http/fetcher.ts';
import { HostAllowList } from '../src/http/host-patterns.ts';
import { HttpFailure } from '../src/http/http-failure.ts';
import type { HttpFetchRequest } from '../src/http/types.ts';
import { startServer, tableResolver, watchOutboundConnections } from './http-helpers.ts';

function get(url: string): HttpFetchRequest {
  return { method: 'GET', url, headers: [], body: new Uint8Array(0), redirect: 'follow' };
}

async function assertDenied(promise: Promise<unknown>, rule: RegExp): Promise<HttpFailure> {
  const failure = await promise.then(
    () => assert.fail('the call must be denied'),
    (error: unknown) => error,
  );
  assert.ok(failure instanceof HttpFailure, String(failure));
  assert.equal(failure.kind, 'denied', failure.message);
  assert.equal(failure.code, 'capability_denied');
  assert.match(failure.rule ?? '', rule, failure.message);
  return failure;
}

void test('literal 127.0.0.1 is denied even when allow-listed, and the server there gets nothing', async () => {
  const server = await startServer((_req, res) => res.end('secret'));
  const watch = watchOutboundConnections();
  try {
    const fetcher = new HttpFetcher();
    const failure = await assertDenied(
      fetcher.fetch(get(`${server.origin}/`), { allowList: new HostAllowList([server.origin]) }),
      /^address is loopback \(127\.0\.0\.0\/8\)$/,
    );
    assert.match(failure.message, /127\.0\.0\.1 denied/);
    assert.equal(watch.sockets, 0);
    assert.equal(watch.requests, 0);
    assert.equal(server.requests.length, 0);
  } finally {
    watch.stop();
    await server.close();
  }
});

void test('other spellings of 127.0.0.1 (decimal, hex, short) are the same address and denied', async () => {
  const watch = watchOutboundConnections();
  try {
    const fetcher = new HttpFetcher();
    const allowList = new HostAllowList(['http://127.0.0.1:9']);
    for (const url of [
      'http://2130706433:9/',
      'http://0x7f000001:9/',
      'http://127.1:9/',
      'http://0177.0.0.1:9/',
    ]) {
      await assertDenied(fetcher.fetch(get(url), { allowList }), /loopback/);
    }
    assert.equal(watch.sockets, 0);
  } finally {
    watch.stop();
  }
});

void test('169.254.169.254 and 10.0.0.1 are refused before any connection attempt', async () => {
  const watch = watchOutboundConnections();
  try {
    const fetcher = new HttpFetcher();
    const allowList = new HostAllowList(['http://169.254.169.254', 'http://10.0.0.1', 'https://10.0.0.1']);
    await assertDenied(
      fetcher.fetch(get('http://169.254.169.254/latest/meta-data/'), { allowList }),
      /^address is link-local .*\(169\.254\.0\.0\/16\)$/,
    );
    await assertDenied(
      fetcher.fetch(get('http://10.0.0.1/'), { allowList }),
      /^address is private \(10\.0\.0\.0\/8\)$/,
    );
    await assertDenied(fetcher.fetch(get('https://10.0.0.1/'), { allowList }), /private/);
    assert.equal(watch.sockets, 0, 'no socket was created');
    assert.equal(watch.requests, 0, 'no HTTP request was started');
  } finally {
    watch.stop();
  }
});

void test('::1 is denied: as a resolved address, and as a URL literal (which no pattern can name)', async () => {
  const server = await startServer((_req, res) => res.end('secret'), '::1');
  const watch = watchOutboundConnections();
  try {
    const dns = tableResolver({ 'six.test': ['::1'], 'mapped.test': ['::ffff:127.0.0.1'] });
    const fetcher = new HttpFetcher({ resolver: dns.resolve });
    const allowList = new HostAllowList([
      `http://six.test:${server.port}`,
      `http://mapped.test:${server.port}`,
    ]);
    await assertDenied(
      fetcher.fetch(get(`http://six.test:${server.port}/`), { allowList }),
      /^resolved address is loopback \(::1\/128\)$/,
    );
    await assertDenied(
      fetcher.fetch(get(`http://mapped.test:${server.port}/`), { allowList }),
      /IPv4-mapped .* loopback/,
    );
    await assertDenied(
      fetcher.fetch(get(`${server.origin}/`), { allowList }),
      /^origin outside net.http hosts$/,
    );
    assert.equal(watch.sockets, 0);
    assert.equal(server.requests.length, 0);
  } finally {
    watch.stop();
    await server.close();
  }
});

void test('a host name resolving to loopback is denied; so is one with any private address among public ones', async () => {
  const server = await startServer((_req, res) => res.end('secret'));
  const watch = watchOutboundConnections();
  try {
    const dns = tableResolver({
      'evil.test': ['127.0.0.1'],
      'hedge.test': ['93.184.216.34', '127.0.0.1'],
      'meta.test': ['169.254.169.254'],
      'lan.test': ['192.168.1.10'],
    });
    const fetcher = new HttpFetcher({ resolver: dns.resolve });
    const allowList = new HostAllowList([
      'http://hedge.test',
      'http://meta.test',
      'http://lan.test',
      `http://evil.test:${server.port}`,
    ]);
    await assertDenied(
      fetcher.fetch(get(`http://evil.test:${server.port}/`), { allowList }),
      /^resolved address is loopback/,
    );
    await assertDenied(fetcher.fetch(get('http://hedge.test/'), { allowList }), /loopback/);
    await assertDenied(fetcher.fetch(get('http://meta.test/'), { allowList }), /link-local/);
    await assertDenied(
      fetcher.fetch(get('http://lan.test/'), { allowList }),
      /private \(192\.168\.0\.0\/16\)/,
    );
    assert.equal(watch.sockets, 0);
    assert.equal(server.requests.length, 0);
  } finally {
    watch.stop();
    await server.close();
  }
});

void test('a redirect from an allowed host to loopback is denied, and loopback gets nothing', async () => {
  const victim = await startServer((_req, res) => res.end('admin console'));
  const dns = tableResolver({ 'internal.test': ['127.0.0.1'], 'meta.test': ['169.254.169.254'] });
  const targets = [
    `${victim.origin}/admin`,
    `http://internal.test:${victim.port}/admin`,
    'http://meta.test/latest/meta-data/',
    'http://10.0.0.1/',
  ];
  // The "public" origin the module may call: a loopback address the node explicitly allows.
  const origin = await startServer((req, res) => {
    res.writeHead(302, { location: targets[Number(req.url.slice(1))] ?? '/' }).end();
  }, '127.0.0.2');
  try {
    const fetcher = new HttpFetcher({ resolver: dns.resolve, allowedRanges: ['127.0.0.2/32'] });
    // Every target is allow-listed too: what refuses them is the address rule, hop by hop.
    const allowList = new HostAllowList([
      origin.origin,
      victim.origin,
      `http://internal.test:${victim.port}`,
      'http://meta.test',
      'http://10.0.0.1',
    ]);
    const rules = [
      /^redirect target address is loopback/,
      /^redirect target resolved address is loopback/,
      /^redirect target resolved address is link-local/,
      /^redirect target address is private/,
    ];
    for (const [i, rule] of rules.entries()) {
      const watch = watchOutboundConnections();
      try {
        const failure = await assertDenied(fetcher.fetch(get(`${origin.origin}/${i}`), { allowList }), rule);
        assert.match(failure.message, /^redirect 1: /);
        assert.equal(watch.sockets, 1, 'only the allowed origin was connected to');
      } finally {
        watch.stop();
      }
    }
    assert.equal(origin.requests.length, rules.length);
    assert.equal(victim.requests.length, 0);
  } finally {
    await origin.close();
    await victim.close();
  }
});

void test('a redirect to an origin outside the allow-list, or to another scheme, is denied', async () => {
  const other = await startServer((_req, res) => res.end('elsewhere'), '127.0.0.3');
  const locations = [`${other.origin}/`, 'file:///etc/passwd', 'gopher://127.0.0.2:70/'];
  const origin = await startServer((req, res) => {
    res.writeHead(307, { location: locations[Number(req.url.slice(1))] ?? '/' }).end();
  }, '127.0.0.2');
  try {
    const fetcher = new HttpFetcher({ allowedRanges: ['127.0.0.0/8'] });
    const allowList = new HostAllowList([origin.origin]);
    await assertDenied(
      fetcher.fetch(get(`${origin.origin}/0`), { allowList }),
      /^redirect target origin outside net.http hosts$/,
    );
    await assertDenied(
      fetcher.fetch(get(`${origin.origin}/1`), { allowList }),
      /^redirect target scheme is not http or https$/,
    );
    await assertDenied(fetcher.fetch(get(`${origin.origin}/2`), { allowList }), /^redirect target scheme/);
    assert.equal(other.requests.length, 0);
  } finally {
    await origin.close();
    await other.close();
  }
});

void test('DNS rebinding: the name is resolved once and the socket goes to the address that was checked', async () => {
  const good = await startServer((_req, res) => res.end('public data'), '127.0.0.2');
  // The victim listens on the same port at 127.0.0.1: a second lookup would send the request there.
  let victim;
  try {
    victim = await startServer((_req, res) => res.end('admin console'), '127.0.0.1');
  } catch {
    victim = undefined;
  }
  const dns = tableResolver({ 'rebind.test': [['127.0.0.2'], ['127.0.0.1'], ['127.0.0.1']] });
  try {
    const fetcher = new HttpFetcher({ resolver: dns.resolve, allowedRanges: ['127.0.0.2/32'] });
    const allowList = new HostAllowList([`http://rebind.test:${good.port}`]);
    const response = await fetcher.fetch(get(`http://rebind.test:${good.port}/`), { allowList });
    assert.equal(Buffer.from(response.body).toString(), 'public data');
    assert.deepEqual(dns.calls, ['rebind.test'], 'exactly one resolution');
    assert.equal(good.requests[0]?.localAddress, '127.0.0.2');
    assert.equal(good.requests[0]?.headers.host, `rebind.test:${good.port}`);
    // The second answer (127.0.0.1) is what a re-resolving client would use: it is refused.
    await assertDenied(fetcher.fetch(get(`http://rebind.test:${good.port}/`), { allowList }), /loopback/);
    assert.equal(victim?.requests.length ?? 0, 0);
  } finally {
    await good.close();
    await victim?.close();
  }
});
