import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { AddressPolicy, MAX_ALLOWED_RANGES } from '../src/http/address-policy.ts';
import { cidrContains, formatIp, parseCidr, parseIp } from '../src/http/ip-address.ts';

const strict = new AddressPolicy();

void test('parseIp reads every IPv6 spelling of one address to the same bytes', () => {
  const spellings = [
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '0:0:0:0:0:ffff:7f00:0001',
    '::FFFF:7F00:1',
    '0::ffff:127.0.0.1',
  ];
  for (const text of spellings) assert.deepEqual(parseIp(text), parseIp('::ffff:7f00:1'), text);
  assert.equal(formatIp(parseIp('0:0:0:0:0:0:0:1') as Uint8Array), '::1');
  assert.equal(formatIp(parseIp('fe80::1%eth0') as Uint8Array), 'fe80::1');
  for (const bad of [
    '',
    '1.2.3',
    '01.2.3.4',
    '1.2.3.256',
    '0x7f.0.0.1',
    '::1::',
    '1:2:3:4:5:6:7:8:9',
    'localhost',
    '[::1]',
  ]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

void test('formatIp(parseIp(x)) is the RFC 5952 form Node itself prints', () => {
  fc.assert(
    fc.property(fc.ipV6(), (text) => {
      const bytes = parseIp(text);
      assert.ok(bytes !== undefined, text);
      assert.equal(bytes.length, 16);
      // The URL parser canonicalises IPv6 hosts (RFC 5952, IPv4 tails in hex): a second opinion.
      const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
      assert.equal(formatIp(bytes), canonical);
      assert.ok(isIPv6(formatIp(bytes)));
    }),
    { numRuns: 500 },
  );
});

void test('parseCidr refuses host bits, bad prefixes and zones', () => {
  assert.equal(parseCidr('10.0.0.0/8')?.text, '10.0.0.0/8');
  assert.equal(parseCidr('FC00::/7')?.text, 'fc00::/7');
  for (const bad of [
    '10.0.0.1/8',
    '10.0.0.0/33',
    '10.0.0.0/08',
    '10.0.0.0',
    '::/129',
    'fe80::%1/64',
    '10.0.0.0/-1',
    'x/8',
  ]) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
  const range = parseCidr('172.16.0.0/12');
  assert.ok(range !== undefined);
  assert.ok(cidrContains(range, parseIp('172.31.255.255') as Uint8Array));
  assert.ok(!cidrContains(range, parseIp('172.32.0.0') as Uint8Array));
  assert.ok(
    !cidrContains(range, parseIp('::ffff:172.16.0.1') as Uint8Array),
    'IPv4 range never holds an IPv6 address',
  );
});

void test('the addresses the brief names are denied, each naming its rule', () => {
  const cases: [string, RegExp][] = [
    ['127.0.0.1', /loopback \(127\.0\.0\.0\/8\)/],
    ['127.255.255.254', /loopback/],
    ['::1', /loopback \(::1\/128\)/],
    ['169.254.169.254', /link-local \(cloud metadata lives here\) \(169\.254\.0\.0\/16\)/],
    ['10.0.0.1', /private \(10\.0\.0\.0\/8\)/],
    ['172.16.0.1', /private \(172\.16\.0\.0\/12\)/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private \(192\.168\.0\.0\/16\)/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['100.127.255.255', /carrier-grade NAT/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['::', /unspecified \(::\/128\)/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['fc00::1', /unique local/],
    ['fdff:ffff::1', /unique local/],
    ['fe80::1', /link-local \(fe80::\/10\)/],
    ['fe80::1%lo', /link-local/],
    ['febf::1', /link-local/],
    ['ff02::1', /multicast/],
    ['::ffff:127.0.0.1', /IPv4-mapped \(::ffff:0:0\/96\) of an IPv4 address that is loopback/],
    ['::ffff:169.254.169.254', /IPv4-mapped .* link-local/],
    ['::ffff:a00:1', /IPv4-mapped .* private/],
    ['::127.0.0.1', /reserved/],
    ['64:ff9b::7f00:1', /NAT64 \(64:ff9b::\/96\) of an IPv4 address that is loopback/],
    ['64:ff9b::a9fe:a9fe', /NAT64 .* link-local/],
    ['64:ff9b:1::1', /local-use NAT64/],
    ['2002:7f00:1::1', /6to4 \(2002::\/16\) of an IPv4 address that is loopback/],
    ['2002:a00:1::', /6to4 .* private/],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
    ['2001:db8::1', /documentation/],
    ['192.0.2.1', /documentation/],
    ['198.18.0.1', /benchmarking/],
  ];
  for (const [address, why] of cases) {
    const denial = strict.denial(address);
    assert.ok(denial !== undefined, `${address} must be denied`);
    assert.match(denial, why, address);
    // Only constant range texts (in parentheses) may look like an address: never the one checked.
    assert.ok(!denial.replace(/\([^)]*\)/g, '').includes(address), `the rule names no address: ${denial}`);
  }
});

void test('public unicast addresses, and the public addresses embedded forms carry, are allowed', () => {
  for (const address of [
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '172.15.255.255',
    '172.32.0.0',
    '192.167.255.255',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ]) {
    assert.equal(strict.denial(address), undefined, address);
  }
  assert.equal(strict.denial('example.com'), 'is not an IP address');
});

void test('an IPv4 address and its mapped, NAT64 and 6to4 forms get the same verdict', () => {
  fc.assert(
    fc.property(fc.ipV4(), (v4) => {
      const bytes = parseIp(v4) as Uint8Array;
      const hex = (i: number) => (((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16);
      const verdict = strict.denial(v4) === undefined;
      assert.equal(strict.denial(`::ffff:${v4}`) === undefined, verdict, `::ffff:${v4}`);
      assert.equal(strict.denial(`64:ff9b::${v4}`) === undefined, verdict, `64:ff9b::${v4}`);
      assert.equal(strict.denial(`2002:${hex(0)}:${hex(2)}::1`) === undefined, verdict, `6to4 of ${v4}`);
    }),
    { numRuns: 2000 },
  );
});

void test('every address in a denied IPv4 range is denied (random samples)', () => {
  const ranges: [string, number][] = [
    ['10.0.0.0', 8],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['100.64.0.0', 10],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
    ['0.0.0.0', 8],
  ];
  fc.assert(
    fc.property(
      fc.constantFrom(...ranges),
      fc.integer({ min: 0, max: 0xffffffff }),
      ([base, prefix], noise) => {
        const baseValue = (parseIp(base) as Uint8Array).reduce((acc, byte) => acc * 256 + byte, 0);
        const hostBits = 32 - prefix;
        const value = baseValue + (noise % 2 ** hostBits);
        const address = [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
        assert.ok(strict.denial(address) !== undefined, address);
      },
    ),
    { numRuns: 1000 },
  );
});

void test('allowedRanges exempt exactly their ranges, and an IPv4 range covers its embedded forms', () => {
  const policy = new AddressPolicy({ allowedRanges: ['127.0.0.0/8', 'fd00::/8'] });
  assert.equal(policy.denial('127.0.0.1'), undefined);
  assert.equal(policy.denial('::ffff:127.0.0.1'), undefined);
  assert.equal(policy.denial('fd12::1'), undefined);
  assert.match(policy.denial('::1') ?? '', /loopback/, '::1 is not in 127.0.0.0/8');
  assert.match(policy.denial('fc00::1') ?? '', /unique local/);
  assert.match(policy.denial('10.0.0.1') ?? '', /private/);
  assert.match(policy.denial('169.254.169.254') ?? '', /link-local/);
  assert.deepEqual(policy.allowedRanges, ['127.0.0.0/8', 'fd00::/8']);
  const single = new AddressPolicy({ allowedRanges: ['127.0.0.2/32'] });
  assert.equal(single.denial('127.0.0.2'), undefined);
  assert.match(single.denial('127.0.0.1') ?? '', /loopback/);
});

void test('allowedRanges: malformed entries and more than MAX_ALLOWED_RANGES are refused', () => {
  for (const bad of ['127.0.0.1', '127.0.0.1/8', 'loopback', '::1/200']) {
    assert.throws(() => new AddressPolicy({ allowedRanges: [bad] }), {
      code: 'bad_request',
      message: /allowedRanges entry/,
    });
  }
  const atLimit = Array.from({ length: MAX_ALLOWED_RANGES }, (_, i) => `10.${i}.0.0/16`);
  assert.equal(new AddressPolicy({ allowedRanges: atLimit }).allowedRanges.length, MAX_ALLOWED_RANGES);
  assert.throws(() => new AddressPolicy({ allowedRanges: [...atLimit, '10.200.0.0/16'] }), {
    code: 'bad_request',
    message: /MAX_ALLOWED_RANGES \(64\)/,
  });
});
