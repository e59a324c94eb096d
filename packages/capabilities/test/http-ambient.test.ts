/**
 * Nothing ambient reaches an upstream: no proxy from the environment (even where Node itself
 * would honour one), and TLS trusts exactly the configured roots and checks the certificate
 * against the URL's host name — never against the address connected to.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HttpFetcher } from '../src/http/fetcher.ts';
import { HostAllowList } from '../src/http/host-patterns.ts';
import { HttpFailure } from '../src/http/http-failure.ts';
import type { HttpFetchRequest } from '../src/http/types.ts';
import { startServer, tableResolver } from './http-helpers.ts';

const FETCHER_URL = new URL('../src/http/fetcher.ts', import.meta.url).href;
const PATTERNS_URL = new URL('../src/http/host-patterns.ts', import.meta.url).href;

function get(url: string): HttpFetchRequest {
  return { method: 'GET', url, headers: [], body: new Uint8Array(0), redirect: 'follow' };
}

/** Runs `code` (an ES module) in a child Node with `env`; resolves with its stdout. */
function runChild(code: string, env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env: { ...process.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const timer = setTimeout(() => child.kill(), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out.trim());
      else reject(new Error(`child exited ${code}: ${err}`));
    });
  });
}

void test('proxy environment variables are ignored, where the global agent would use them', async () => {
  const proxy = await startServer((_req, res) => res.end('from proxy'), '127.0.0.1');
  const target = await startServer((_req, res) => res.end('from target'), '127.0.0.2');
  const env = {
    NODE_USE_ENV_PROXY: '1',
    HTTP_PROXY: proxy.origin,
    HTTPS_PROXY: proxy.origin,
    http_proxy: proxy.origin,
    NO_PROXY: '',
  };
  try {
    // Control: in this environment Node's own client goes through the proxy.
    const control = await runChild(
      `import http from 'node:http';
       http.get('${target.origin}/', (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(b)); });`,
      env,
    );
    assert.equal(control, 'from proxy', 'the environment really configures a proxy');
    assert.equal(proxy.requests.length, 1);
    const direct = await runChild(
      `import { HttpFetcher } from '${FETCHER_URL}';
       import { HostAllowList } from '${PATTERNS_URL}';
       const fetcher = new HttpFetcher({ allowedRanges: ['127.0.0.2/32'] });
       const response = await fetcher.fetch(
         { method: 'GET', url: '${target.origin}/', headers: [], body: new Uint8Array(0), redirect: 'follow' },
         { allowList: new HostAllowList(['${target.origin}']) },
       );
       console.log(Buffer.from(response.body).toString());`,
      env,
    );
    assert.equal(direct, 'from target');
    assert.equal(proxy.requests.length, 1, 'the fetcher never talked to the proxy');
    assert.equal(target.requests.length, 1);
    assert.equal(target.requests[0]?.headers['proxy-authorization'], undefined);
  } finally {
    await proxy.close();
    await target.close();
  }
});

/** A self-signed certificate for `name`, made with the openssl CLI; undefined when there is none. */
function selfSigned(name: string): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'gojinn-http-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=DNS:${name}`,
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void test('HTTPS: the configured root is trusted, SNI and the certificate check use the URL host', async (t) => {
  const tls = selfSigned('secure.test');
  if (tls === undefined) {
    t.skip('no openssl CLI to make a test certificate');
    return;
  }
  const server = await startServer((_req, res) => res.end('over tls'), '127.0.0.2', tls);
  const dns = tableResolver({ 'secure.test': ['127.0.0.2'], 'other.test': ['127.0.0.2'] });
  const allowList = new HostAllowList([
    `https://secure.test:${server.port}`,
    `https://other.test:${server.port}`,
  ]);
  try {
    const fetcher = new HttpFetcher({ allowedRanges: ['127.0.0.2/32'], resolver: dns.resolve, ca: tls.cert });
    const response = await fetcher.fetch(get(`https://secure.test:${server.port}/`), { allowList });
    assert.equal(Buffer.from(response.body).toString(), 'over tls');
    assert.equal(server.requests[0]?.servername, 'secure.test', 'SNI is the URL host');
    assert.equal(server.requests[0]?.headers.host, `secure.test:${server.port}`);
    // Same server, same address, a name the certificate does not cover: refused.
    const wrongName = await fetcher
      .fetch(get(`https://other.test:${server.port}/`), { allowList })
      .catch((e: unknown) => e);
    assert.ok(wrongName instanceof HttpFailure && wrongName.kind === 'unreachable', String(wrongName));
    assert.match(wrongName.message, /ERR_TLS_CERT_ALTNAME_INVALID/);
    // Without the test root, Node's bundled roots do not trust a self-signed certificate.
    const untrusting = new HttpFetcher({ allowedRanges: ['127.0.0.2/32'], resolver: dns.resolve });
    const unknown = await untrusting
      .fetch(get(`https://secure.test:${server.port}/`), { allowList })
      .catch((e: unknown) => e);
    assert.ok(unknown instanceof HttpFailure && unknown.kind === 'unreachable', String(unknown));
    assert.match(unknown.message, /SELF_SIGNED/);
    assert.equal(server.requests.length, 1, 'no request went over an unverified connection');
  } finally {
    await server.close();
  }
});
