import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HostAllowList, parseHostPattern, patternMatches, urlOrigin } from '../src/http/host-patterns.ts';
import { intersectPatterns, originMatches } from '../src/scopes/http-hosts.ts';

void test('an exact pattern matches its origin only: scheme, host and port (default when absent)', () => {
  const list = new HostAllowList(['https://api.example.com', 'http://127.0.0.1:8080']);
  assert.ok(list.allows(new URL('https://api.example.com/v1?x=1')));
  assert.ok(list.allows(new URL('https://api.example.com:443/')), 'explicit default port');
  assert.ok(list.allows(new URL('HTTPS://API.EXAMPLE.COM/')), 'the URL parser lowercases');
  assert.ok(list.allows(new URL('http://127.0.0.1:8080/')));
  for (const url of [
    'http://api.example.com/',
    'https://api.example.com:8443/',
    'https://example.com/',
    'https://x.api.example.com/',
    'https://api.example.com./',
    'https://api.example.com.evil.test/',
    'https://evilapi.example.com/',
    'http://127.0.0.1/',
    'http://127.0.0.1:8081/',
    'ftp://api.example.com/',
    'file:///etc/passwd',
  ]) {
    assert.ok(!list.allows(new URL(url)), url);
  }
});

void test('the URL parser normalises numeric IPv4 spellings before matching', () => {
  const list = new HostAllowList(['http://127.0.0.1:8080']);
  for (const url of [
    'http://0x7f.0.0.1:8080/',
    'http://2130706433:8080/',
    'http://0177.0.0.1:8080/',
    'http://127.1:8080/',
  ]) {
    assert.ok(list.allows(new URL(url)), url);
  }
});

void test('a wildcard matches one or more labels in front, never the bare domain or an IP address', () => {
  const list = new HostAllowList(['https://*.example.com', 'http://*.0.0.1']);
  assert.ok(list.allows(new URL('https://a.example.com/')));
  assert.ok(list.allows(new URL('https://a.b.example.com/')));
  assert.ok(!list.allows(new URL('https://example.com/')));
  assert.ok(!list.allows(new URL('https://aexample.com/')));
  assert.ok(!list.allows(new URL('https://a.example.com.evil.test/')));
  assert.ok(!list.allows(new URL('http://a.example.com/')));
  assert.ok(
    !list.allows(new URL('http://127.0.0.1/')),
    'the dotted quad 127.0.0.1 is not a subdomain of 0.0.1',
  );
  // (A name ending in a number is an IPv4 address to the URL parser: `x.0.0.1` is not a URL.)
  assert.throws(() => new URL('http://x.0.0.1/'));
});

void test('IPv6 literal URLs never match (patterns cannot name one)', () => {
  const list = new HostAllowList(['http://*.example.com']);
  assert.ok(!list.allows(new URL('http://[::1]/')));
  assert.ok(!list.allows(new URL('http://[::ffff:127.0.0.1]/')));
});

void test('parseHostPattern applies the manifest grammar', () => {
  assert.deepEqual(
    { ...parseHostPattern('https://*.example.com:8443') },
    { scheme: 'https', wildcard: true, host: 'example.com', port: 8443, text: 'https://*.example.com:8443' },
  );
  for (const bad of [
    'https://*.com',
    'https://Example.com',
    'https://example.com/',
    'https://example.com:443',
    'ftp://x.y',
    'https://[::1]',
    '',
  ]) {
    assert.throws(() => parseHostPattern(bad), { code: 'bad_request' }, bad);
  }
});

void test('grants narrow scopes (scopes/http-hosts.ts intersectPatterns) the way the URL matcher reads them', () => {
  assert.deepEqual(intersectPatterns(['https://*.example.com'], ['https://api.example.com']), [
    'https://api.example.com',
  ]);
  assert.deepEqual(intersectPatterns(['https://api.example.com'], ['https://*.example.com']), [
    'https://api.example.com',
  ]);
  assert.deepEqual(intersectPatterns(['https://*.example.com'], ['https://*.a.example.com']), [
    'https://*.a.example.com',
  ]);
  assert.deepEqual(intersectPatterns(['https://*.example.com'], ['https://example.com']), []);
  assert.deepEqual(intersectPatterns(['https://*.example.com'], ['http://*.example.com']), []);
  assert.deepEqual(intersectPatterns(['https://*.example.com'], ['https://*.example.com:8443']), []);
  assert.deepEqual(
    intersectPatterns(['https://a.test', 'https://b.test'], ['https://b.test', 'https://c.test']),
    ['https://b.test'],
  );
});

// A scope may only narrow: declared `*.0.0.1` matches no URL (the URL parser reads any host ending
// in a number as IPv4, and a wildcard never matches an IP), so granting `127.0.0.1` on top of it
// must give nothing (patternContains refuses IP hosts under a wildcard).
void test('a wildcard over numeric labels never widens into an IP address through a grant', () => {
  assert.ok(!new HostAllowList(['http://*.0.0.1']).allows(new URL('http://127.0.0.1/')));
  assert.deepEqual(intersectPatterns(['http://*.0.0.1'], ['http://127.0.0.1']), []);
  assert.deepEqual(intersectPatterns(['http://127.0.0.1'], ['http://*.0.0.1']), []);
});

const label = fc.constantFrom('a', 'b', 'api', 'x1');
const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => [...labels, 'test'].join('.'));
const pattern = fc
  .tuple(fc.constantFrom('http', 'https'), fc.boolean(), host, fc.constantFrom('', ':8080'))
  .map(([scheme, wildcard, name, port]) => `${scheme}://${wildcard ? '*.' : ''}${name}${port}`);
const url = fc
  .tuple(fc.constantFrom('http', 'https'), host, fc.constantFrom('', ':8080'))
  .map(([scheme, name, port]) => new URL(`${scheme}://${name}${port}/`));

void test('the intersection of two scopes allows exactly the URLs both allow, as the fetcher matches them (property)', () => {
  fc.assert(
    fc.property(
      fc.array(pattern, { maxLength: 4 }),
      fc.array(pattern, { maxLength: 4 }),
      fc.array(url, { minLength: 1, maxLength: 8 }),
      (a, b, urls) => {
        const both = new HostAllowList(intersectPatterns(a, b));
        const left = new HostAllowList(a);
        const right = new HostAllowList(b);
        for (const u of urls)
          assert.equal(both.allows(u), left.allows(u) && right.allows(u), `${u.href} with ${a} ∩ ${b}`);
      },
    ),
    { numRuns: 1000 },
  );
});

void test('the scope module and the fetcher agree on which origin a pattern matches (property)', () => {
  fc.assert(
    fc.property(pattern, url, (text, u) => {
      const origin = urlOrigin(u);
      assert.ok(origin !== undefined);
      assert.equal(
        patternMatches(parseHostPattern(text), origin),
        originMatches(text, origin.scheme, origin.host, origin.port),
      );
    }),
    { numRuns: 1000 },
  );
});
