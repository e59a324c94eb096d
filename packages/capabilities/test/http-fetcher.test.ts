import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpFetcher, type HttpFetcherOptions } from '../src/http/fetcher.ts';
import { HostAllowList } from '../src/http/host-patterns.ts';
import { HttpFailure, type HttpFailureKind } from '../src/http/http-failure.ts';
import { DEFAULT_HTTP_LIMITS } from '../src/http/limits.ts';
import type { HttpFetchRequest } from '../src/http/types.ts';
import { bytes, startServer, tableResolver, type TestHandler, type TestServer } from './http-helpers.ts';

/** Loopback is reachable in these tests only because they say so. */
const LOOPBACK: HttpFetcherOptions = { allowedRanges: ['127.0.0.0/8'] };

function request(url: string, extra: Partial<HttpFetchRequest> = {}): HttpFetchRequest {
  return { method: 'GET', url, headers: [], body: new Uint8Array(0), redirect: 'follow', ...extra };
}

async function withServer(
  handler: TestHandler,
  run: (server: TestServer) => Promise<void>,
  host?: string,
): Promise<void> {
  const server = await startServer(handler, host);
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

async function failure(
  promise: Promise<unknown>,
  kind: HttpFailureKind,
  message?: RegExp,
): Promise<HttpFailure> {
  const error = await promise.then(
    () => assert.fail(`expected ${kind}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof HttpFailure, String(error));
  assert.equal(error.kind, kind, error.message);
  if (message !== undefined) assert.match(error.message, message);
  return error;
}

void test('an allowed origin answers: status, headers, body, and exactly the headers the host chose to send', async () => {
  await withServer(
    (_req, res) => res.writeHead(201, { 'x-reply': 'yes', 'set-cookie': ['a=1', 'b=2'] }).end('hello'),
    async (server) => {
      const fetcher = new HttpFetcher(LOOPBACK);
      const response = await fetcher.fetch(
        request(`${server.origin}/path?q=1#frag`, { headers: [['Accept', 'text/plain']] }),
        {
          allowList: new HostAllowList([server.origin]),
        },
      );
      assert.equal(response.status, 201);
      assert.equal(Buffer.from(response.body).toString(), 'hello');
      assert.deepEqual(
        response.headers.filter(([name]) => name === 'x-reply' || name === 'set-cookie'),
        [
          ['x-reply', 'yes'],
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
        ],
      );
      assert.equal(response.redirects, 0);
      assert.equal(response.url, `${server.origin}/path?q=1#frag`);
      const received = server.requests[0];
      assert.equal(received?.url, '/path?q=1', 'the fragment is never sent');
      // No cookie, authorization, proxy or forwarding header appears unless the guest set it.
      assert.deepEqual(Object.keys(received?.headers ?? {}).sort(), [
        'accept',
        'connection',
        'host',
        'user-agent',
      ]);
      assert.equal(received?.headers.host, `127.0.0.1:${server.port}`);
      assert.equal(received?.headers['user-agent'], 'gojinn-http/1');
      assert.equal(received?.headers.connection, 'close', 'no pooled connection outlives the call');
    },
  );
});

void test('POST sends the body with its length; a guest user-agent replaces the default', async () => {
  await withServer(
    (req, res) => res.end(req.body),
    async (server) => {
      const fetcher = new HttpFetcher(LOOPBACK);
      const body = new Uint8Array([0, 1, 2, 255, 10, 13]);
      const response = await fetcher.fetch(
        request(`${server.origin}/echo`, {
          method: 'POST',
          body,
          headers: [
            ['content-type', 'application/octet-stream'],
            ['user-agent', 'guest/2'],
            ['__proto__', 'just a header'],
          ],
        }),
        { allowList: new HostAllowList([server.origin]) },
      );
      assert.deepEqual(response.body, body);
      assert.equal(server.requests[0]?.headers['content-length'], '6');
      assert.equal(server.requests[0]?.headers['user-agent'], 'guest/2');
      const raw = server.requests[0]?.rawHeaders ?? [];
      assert.equal(
        raw[raw.indexOf('__proto__') + 1],
        'just a header',
        'a header named __proto__ is sent like any other',
      );
      const empty = await fetcher.fetch(request(`${server.origin}/`, { method: 'PUT' }), {
        allowList: new HostAllowList([server.origin]),
      });
      assert.equal(empty.body.byteLength, 0);
      assert.equal(server.requests[1]?.headers['content-length'], '0');
    },
  );
});

void test('a host name is resolved by the resolver and sent as Host', async () => {
  await withServer(
    (_req, res) => res.end('named'),
    async (server) => {
      const dns = tableResolver({ 'api.test': ['127.0.0.1'] });
      const fetcher = new HttpFetcher({ ...LOOPBACK, resolver: dns.resolve });
      const response = await fetcher.fetch(request(`http://api.test:${server.port}/`), {
        allowList: new HostAllowList([`http://api.test:${server.port}`]),
      });
      assert.equal(Buffer.from(response.body).toString(), 'named');
      assert.equal(server.requests[0]?.headers.host, `api.test:${server.port}`);
      assert.deepEqual(dns.calls, ['api.test']);
    },
  );
});

void test('an origin outside the allow-list is denied without a lookup; so are other ports and schemes', async () => {
  const dns = tableResolver({ 'other.test': ['127.0.0.1'], 'api.test': ['127.0.0.1'] });
  const fetcher = new HttpFetcher({ ...LOOPBACK, resolver: dns.resolve });
  const allowList = new HostAllowList(['http://api.test:8080']);
  for (const url of [
    'http://other.test:8080/',
    'http://api.test:8081/',
    'https://api.test:8080/',
    'http://api.test/',
  ]) {
    const denied = await failure(fetcher.fetch(request(url), { allowList }), 'denied');
    assert.equal(denied.rule, 'origin outside net.http hosts');
    assert.equal(denied.code, 'capability_denied');
  }
  await failure(fetcher.fetch(request('ftp://api.test:8080/'), { allowList }), 'denied', /scheme "ftp:"/);
  assert.deepEqual(dns.calls, []);
});

void test('response body: exactly maxResponseBodyBytes is returned, one byte more fails (declared or chunked)', async () => {
  const max = 4096;
  await withServer(
    (req, res) => {
      const [, mode, size] = req.url.split('/');
      const body = bytes(Number(size));
      if (mode === 'chunked') {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        res.write(body.subarray(0, 1000));
        res.end(body.subarray(1000));
      } else res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    },
    async (server) => {
      const fetcher = new HttpFetcher({ ...LOOPBACK, limits: { maxResponseBodyBytes: max } });
      const allowList = new HostAllowList([server.origin]);
      for (const mode of ['declared', 'chunked']) {
        const ok = await fetcher.fetch(request(`${server.origin}/${mode}/${max}`), { allowList });
        assert.equal(ok.body.byteLength, max, mode);
        await failure(
          fetcher.fetch(request(`${server.origin}/${mode}/${max + 1}`), { allowList }),
          'response_too_large',
          /maxResponseBodyBytes \(4096 bytes\)/,
        );
      }
      const head = await fetcher.fetch(request(`${server.origin}/declared/${max * 10}`, { method: 'HEAD' }), {
        allowList,
      });
      assert.equal(head.body.byteLength, 0, 'HEAD reads no body, whatever Content-Length says');
    },
  );
});

void test('response headers past maxResponseHeaderBytes fail as response_too_large', async () => {
  await withServer(
    (req, res) => res.writeHead(200, { 'x-big': 'v'.repeat(Number(req.url.slice(1))) }).end(),
    async (server) => {
      const fetcher = new HttpFetcher({ ...LOOPBACK, limits: { maxResponseHeaderBytes: 2048 } });
      const allowList = new HostAllowList([server.origin]);
      await fetcher.fetch(request(`${server.origin}/1500`), { allowList });
      await failure(
        fetcher.fetch(request(`${server.origin}/3000`), { allowList }),
        'response_too_large',
        /maxResponseHeaderBytes \(2048 bytes\)/,
      );
    },
  );
});

void test('a call times out by its own timeout and by the invocation signal, and the socket is closed', async () => {
  let closed = 0;
  await withServer(
    (_req, res) => {
      res.socket?.once('close', () => closed++);
      res.flushHeaders(); // headers, then silence: the body read must time out too
    },
    async (server) => {
      const allowList = new HostAllowList([server.origin]);
      const fetcher = new HttpFetcher({ ...LOOPBACK, limits: { timeoutMs: 100 } });
      await failure(
        fetcher.fetch(request(`${server.origin}/`), { allowList }),
        'timeout',
        /timeout of 100 ms \(timeoutMs\)/,
      );
      const patient = new HttpFetcher(LOOPBACK);
      await failure(
        patient.fetch(request(`${server.origin}/`, { timeoutMs: 50 }), { allowList }),
        'timeout',
        /timeout of 50 ms/,
      );
      const invocation = new AbortController();
      const call = patient.fetch(request(`${server.origin}/`), { allowList, signal: invocation.signal });
      setTimeout(() => invocation.abort(), 50);
      await failure(call, 'timeout', /invocation ended/);
      const ended = AbortSignal.abort();
      await failure(patient.fetch(request(`${server.origin}/`), { allowList, signal: ended }), 'timeout');
      assert.equal(server.requests.length, 3, 'an already-ended invocation sends nothing');
      // Closing reaches the server asynchronously: wait for it, boundedly (a loaded machine is slow).
      for (let waited = 0; closed < 3 && waited < 5000; waited += 10)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(closed, 3);
    },
  );
});

void test('redirects: followed within maxRedirects, one more fails; 303 turns POST into GET; 307 keeps it; manual returns the 3xx', async () => {
  await withServer(
    (req, res) => {
      const [, kind, n] = req.url.split('/');
      const left = Number(n);
      if (kind === 'chain' && left > 0)
        res.writeHead(302, { location: `/chain/${left - 1}` }).end('redirect body');
      else if (kind === 'see-other') res.writeHead(303, { location: '/final' }).end();
      else if (kind === 'temporary') res.writeHead(307, { location: '/final' }).end();
      else if (kind === 'no-location') res.writeHead(302).end('no location');
      else res.end(`${req.method} ${req.url} ${req.body.toString()} ${req.headers['content-type'] ?? '-'}`);
    },
    async (server) => {
      const fetcher = new HttpFetcher({ ...LOOPBACK, limits: { maxRedirects: 3 } });
      const allowList = new HostAllowList([server.origin]);
      const ok = await fetcher.fetch(request(`${server.origin}/chain/3`), { allowList });
      assert.equal(ok.redirects, 3);
      assert.equal(ok.url, `${server.origin}/chain/0`);
      await failure(
        fetcher.fetch(request(`${server.origin}/chain/4`), { allowList }),
        'too_many_redirects',
        /maxRedirects \(3\)/,
      );
      const post = {
        method: 'POST' as const,
        body: Buffer.from('data'),
        headers: [['content-type', 'text/plain']] as [string, string][],
      };
      const seeOther = await fetcher.fetch(request(`${server.origin}/see-other/0`, post), { allowList });
      assert.equal(Buffer.from(seeOther.body).toString(), 'GET /final  -');
      const temporary = await fetcher.fetch(request(`${server.origin}/temporary/0`, post), { allowList });
      assert.equal(Buffer.from(temporary.body).toString(), 'POST /final data text/plain');
      const manual = await fetcher.fetch(request(`${server.origin}/chain/2`, { redirect: 'manual' }), {
        allowList,
      });
      assert.equal(manual.status, 302);
      assert.equal(Buffer.from(manual.body).toString(), 'redirect body');
      const bare = await fetcher.fetch(request(`${server.origin}/no-location/0`), { allowList });
      assert.equal(bare.status, 302);
      const none = new HttpFetcher({ ...LOOPBACK, limits: { maxRedirects: 0 } });
      await failure(none.fetch(request(`${server.origin}/chain/1`), { allowList }), 'too_many_redirects');
    },
  );
});

void test('no ambient credentials: cookies set by a response are not sent back; guest credentials stay with their origin', async () => {
  const second = await startServer((_req, res) => res.end('second'), '127.0.0.2');
  try {
    await withServer(
      (req, res) => {
        if (req.url === '/same')
          res.writeHead(302, { location: '/landing', 'set-cookie': 'session=abc' }).end();
        else if (req.url === '/cross')
          res.writeHead(307, { location: `${second.origin}/landing`, 'set-cookie': 'session=abc' }).end();
        else res.end('landed');
      },
      async (first) => {
        const fetcher = new HttpFetcher(LOOPBACK);
        const allowList = new HostAllowList([first.origin, second.origin]);
        const credentials: [string, string][] = [
          ['authorization', 'Bearer guest-token'],
          ['cookie', 'guest=1'],
          ['x-api-key', 'k'],
        ];
        await fetcher.fetch(request(`${first.origin}/same`), { allowList });
        assert.equal(first.requests[1]?.headers.cookie, undefined, 'Set-Cookie is not replayed');
        await fetcher.fetch(request(`${first.origin}/same`, { headers: credentials }), { allowList });
        assert.equal(
          first.requests[3]?.headers.authorization,
          'Bearer guest-token',
          'same origin keeps the guest’s own credentials',
        );
        assert.equal(first.requests[3]?.headers.cookie, 'guest=1');
        await fetcher.fetch(request(`${first.origin}/cross`, { headers: credentials }), { allowList });
        const landed = second.requests[0];
        assert.equal(landed?.headers.authorization, undefined, 'Authorization dropped on leaving the origin');
        assert.equal(landed?.headers.cookie, undefined, 'Cookie dropped on leaving the origin');
        assert.equal(landed?.headers['x-api-key'], 'k', 'other headers are the guest’s business');
        for (const recorded of [...first.requests, ...second.requests]) {
          assert.equal(recorded.headers['proxy-authorization'], undefined);
        }
      },
    );
  } finally {
    await second.close();
  }
});

void test('request limits hold exactly at their limit and refuse one past it', async () => {
  await withServer(
    (_req, res) => res.end('ok'),
    async (server) => {
      const limits = {
        maxUrlLength: 100,
        maxRequestHeaders: 3,
        maxRequestHeaderBytes: 40,
        maxRequestBodyBytes: 10,
      };
      const fetcher = new HttpFetcher({ ...LOOPBACK, limits });
      const allowList = new HostAllowList([server.origin]);
      const base = `${server.origin}/`;
      const call = (extra: Partial<HttpFetchRequest>, url = base) =>
        fetcher.fetch(request(url, extra), { allowList });
      await call({}, base.padEnd(100, 'a'));
      await failure(call({}, base.padEnd(101, 'a')), 'request_too_large', /maxUrlLength \(100/);
      const three: [string, string][] = [
        ['a', '1'],
        ['b', '2'],
        ['c', '3'],
      ];
      await call({ headers: three });
      await failure(
        call({ headers: [...three, ['d', '4']] }),
        'request_too_large',
        /maxRequestHeaders \(3\)/,
      );
      await call({ headers: [['x', 'v'.repeat(39)]] });
      await failure(
        call({ headers: [['x', 'v'.repeat(40)]] }),
        'request_too_large',
        /maxRequestHeaderBytes \(40 bytes\)/,
      );
      await call({ method: 'POST', body: bytes(10) });
      await failure(
        call({ method: 'POST', body: bytes(11) }),
        'request_too_large',
        /maxRequestBodyBytes \(10\)/,
      );
      assert.equal(server.requests.length, 4);
    },
  );
});

void test('malformed and dangerous requests are refused before anything is sent', async () => {
  const fetcher = new HttpFetcher(LOOPBACK);
  const allowList = new HostAllowList(['http://127.0.0.1:9']);
  const url = 'http://127.0.0.1:9/';
  const refuse = (extra: Partial<HttpFetchRequest>, pattern: RegExp, at = url) =>
    failure(fetcher.fetch(request(at, extra), { allowList }), 'bad_request', pattern);
  for (const name of [
    'Host',
    'connection',
    'Transfer-Encoding',
    'content-length',
    'te',
    'upgrade',
    'expect',
    'keep-alive',
    'trailer',
    'proxy-authorization',
    'Proxy-Foo',
    'x-forwarded-for',
    'X-Forwarded-Host',
    'forwarded',
    'via',
    'x-real-ip',
    'http2-settings',
  ]) {
    await refuse({ headers: [[name, 'x']] }, /may not be set by a guest/);
  }
  await refuse({ headers: [['x-a', 'ok\r\nhost: evil']] }, /control or non-Latin-1/);
  await refuse({ headers: [['x-a', 'nul\0']] }, /control/);
  await refuse({ headers: [['x-a', 'price in €']] }, /non-Latin-1/);
  await refuse({ headers: [['bad name', 'x']] }, /not a valid token/);
  await refuse({ headers: [[':authority', 'x']] }, /not a valid token/);
  await refuse(
    {
      headers: [
        ['Accept', 'a'],
        ['accept', 'b'],
      ],
    },
    /more than once/,
  );
  await refuse({ method: 'CONNECT' as 'GET' }, /not one of/);
  await refuse({ method: 'TRACE' as 'GET' }, /not one of/);
  await refuse({ method: 'GET', body: bytes(1) }, /GET request may not have a body/);
  await refuse({}, /user name or password/, 'http://user:pass@127.0.0.1:9/');
  await refuse({}, /not an absolute URL/, '/relative');
  await refuse({ timeoutMs: 0 }, /timeout/);
});

void test('limits: the defaults apply unless overridden; an override out of range or unknown is refused', () => {
  assert.deepEqual({ ...new HttpFetcher().limits }, { ...DEFAULT_HTTP_LIMITS });
  assert.equal(new HttpFetcher({ limits: { maxRedirects: 0 } }).limits.maxRedirects, 0);
  assert.throws(() => new HttpFetcher({ limits: { maxRedirects: 21 } }), {
    code: 'bad_request',
    message: /maxRedirects/,
  });
  assert.throws(() => new HttpFetcher({ limits: { timeoutMs: 0 } }), {
    code: 'bad_request',
    message: /timeoutMs/,
  });
  assert.throws(() => new HttpFetcher({ limits: { maxResponseBodyBytes: 1.5 } }), { code: 'bad_request' });
  assert.throws(() => new HttpFetcher({ limits: { maxBody: 1 } as never }), {
    code: 'bad_request',
    message: /unknown http limit "maxBody"/,
  });
});
