/**
 * The node's logger: a secret and the admin token never appear in any line at any level
 * (trace..fatal) — in a message, a field under any name, an error's message, stack or cause, a
 * child's bindings, a guest's own log line (from a real guest through the real dispatcher) —
 * level filtering, silent, and the JSON shape operators parse.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GojinnError } from '@gojinn/errors';
import type { MeshEventLog } from '../src/node/mesh-peer.ts';
import {
  LOG_LEVELS,
  MIN_SCRUBBED_LENGTH,
  REDACTED,
  SensitiveStrings,
  createNodeLogger,
  eventLogger,
  internalErrorLogger,
  logRecordSink,
  type LogLevel,
  type NodeLogger,
} from '../src/observability/index.ts';

const WRITING_LEVELS = LOG_LEVELS.filter((level) => level !== 'silent');

interface Captured {
  logger: NodeLogger;
  lines: string[];
}

function capture(level: LogLevel, secrets: () => Iterable<string>): Captured {
  const lines: string[] = [];
  const logger = createNodeLogger({ level, secrets, destination: { write: (line) => lines.push(line) } });
  return { logger, lines };
}

/** The node's sensitive values as the daemon has them: token and master key pinned, others added. */
function nodeSecrets() {
  const adminToken = randomBytes(32).toString('hex');
  const masterKey = randomBytes(32).toString('hex');
  // A secret value with characters JSON escapes: its form in a line differs from its raw form.
  const secretValue = `db-p@ss"w\\ord\t${randomBytes(6).toString('base64url')}`;
  const apiKey = `gk_${randomBytes(24).toString('base64url')}`;
  const sensitive = new SensitiveStrings();
  sensitive.add(adminToken, { pinned: true });
  sensitive.add(masterKey, { pinned: true });
  sensitive.add(secretValue);
  sensitive.add(apiKey);
  return {
    adminToken,
    masterKey,
    secretValue,
    apiKey,
    sensitive,
    all: [adminToken, masterKey, secretValue, apiKey],
  };
}

/** Every string value in a parsed line, keys included. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) strings(item, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      out.push(key);
      strings(inner, out);
    }
  }
  return out;
}

function assertNoSecret(lines: readonly string[], secrets: readonly string[]): void {
  for (const line of lines) {
    const parsed: unknown = JSON.parse(line);
    const values = strings(parsed);
    for (const secret of secrets) {
      assert.ok(!line.includes(secret), `raw line contains a secret: ${line}`);
      assert.ok(!line.includes(JSON.stringify(secret).slice(1, -1)), `escaped secret in: ${line}`);
      assert.ok(!values.some((v) => v.includes(secret)), `decoded field contains a secret: ${line}`);
    }
  }
}

void test('at every level trace..fatal, secrets in the message, any field, an error (message, stack, cause, property) and bindings are scrubbed', () => {
  const s = nodeSecrets();
  const { logger, lines } = capture('trace', () => s.sensitive);
  const child = logger.child({ requestNote: `bound ${s.apiKey}` });
  for (const level of WRITING_LEVELS) {
    const cause = new Error(`upstream said ${s.masterKey}`);
    const error = new GojinnError('internal', `decrypt failed for ${s.secretValue}`, { cause });
    Object.assign(error, { detail: { header: `Bearer ${s.adminToken}` } });
    logger[level](
      { note: s.secretValue, nested: { deeper: [s.adminToken] }, err: error },
      `msg has ${s.apiKey}`,
    );
    logger[level](`plain message with the token ${s.adminToken} and key ${s.masterKey}`);
    logger[level](new Error(`thrown with ${s.secretValue}`));
    child[level]({ quoted: JSON.stringify({ value: s.secretValue }) }, 'a JSON body inside a string');
  }
  assert.equal(lines.length, WRITING_LEVELS.length * 4, 'every line was written');
  assertNoSecret(lines, s.all);
  for (const line of lines) assert.ok(line.includes(REDACTED), line);
  // What was around the secrets is kept.
  const first = JSON.parse(lines[0] ?? '{}') as { msg: string; level: string; err: { stack: string } };
  assert.equal(first.level, 'trace');
  assert.equal(first.msg, `msg has ${REDACTED}`);
  assert.match(first.err.stack, /decrypt failed for \[redacted\]/);
});

void test('guest log lines from a real guest through the dispatcher are scrubbed at each guest level, and keep their fields', async () => {
  const { Harness, moduleIdentity, TRACE_ID } =
    await import('../../packages/capabilities/test/support/harness.ts');
  const { HostCallDispatcher } = await import('@gojinn/capabilities');
  const s = nodeSecrets();
  const { logger, lines } = capture('trace', () => s.sensitive);
  const h = new Harness();
  try {
    h.dispatcher = new HostCallDispatcher({ log: logRecordSink(logger) });
    const module = moduleIdentity('leaky');
    const { outcome } = await h.run(
      ['log'],
      // Levels 1..3 and 99 (cut to error); debug (0) lines need debug.enable and are not written.
      [1, 2, 3, 99].map((level, i) => ({ fn: 'log', arg: `level ${level}: ${s.all[i] ?? ''}`, cap: level })),
      {},
      { module },
    );
    assert.equal(outcome.ok, true);
    assert.equal(lines.length, 4);
    assertNoSecret(lines, s.all);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      parsed.map((p) => p.level),
      ['info', 'warn', 'error', 'error'],
    );
    assert.deepEqual(parsed[0], {
      ...parsed[0],
      event: 'guest_log',
      module,
      traceId: TRACE_ID,
      message: `level 1: ${REDACTED}`,
      truncated: false,
      msg: 'guest log line',
    });
  } finally {
    await h.close();
  }
});

void test('a secret registered after the logger was made is scrubbed from the next line; a deleted one no longer is', () => {
  const sensitive = new SensitiveStrings();
  const { logger, lines } = capture('info', () => sensitive);
  const later = randomBytes(16).toString('hex');
  logger.info(`before: ${later}`);
  sensitive.add(later);
  logger.info(`after: ${later}`);
  sensitive.delete(later);
  logger.info(`deleted: ${later}`);
  assert.deepEqual(
    lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
    [`before: ${later}`, `after: ${REDACTED}`, `deleted: ${later}`],
  );
});

void test('credential-named fields are redacted whatever their value, registered or not', () => {
  const { logger, lines } = capture('info', () => []);
  logger.info({
    token: 'tok-1',
    apiKey: 'k-2',
    masterKey: 'mk-3',
    request: { authorization: 'Bearer abc', password: 'pw', url: '/fn/hello' },
    headers: { authorization: 'Bearer def', 'x-api-key': 'xk', 'content-type': 'text/plain' },
    req: { headers: { cookie: 'session=1', 'proxy-authorization': 'Basic q' } },
  });
  logger.child({ token: 'bound-token', peer: 'p' }).info('from a child');
  logger.child({ a: 1 }).child({ apiKey: 'grandchild-key' }).info('from a grandchild');
  const line = JSON.parse(lines[0] ?? '{}') as Record<string, Record<string, unknown>>;
  const child = JSON.parse(lines[1] ?? '{}') as Record<string, unknown>;
  assert.deepEqual([child.token, child.peer], [REDACTED, 'p']);
  const grandchild = JSON.parse(lines[2] ?? '{}') as Record<string, unknown>;
  assert.deepEqual([grandchild.a, grandchild.apiKey], [1, REDACTED]);
  assert.equal(line.token, REDACTED);
  assert.equal(line.apiKey, REDACTED);
  assert.equal(line.masterKey, REDACTED);
  assert.deepEqual(line.request, { authorization: REDACTED, password: REDACTED, url: '/fn/hello' });
  assert.deepEqual(line.headers, {
    authorization: REDACTED,
    'x-api-key': REDACTED,
    'content-type': 'text/plain',
  });
  assert.deepEqual(line.req, { headers: { cookie: REDACTED, 'proxy-authorization': REDACTED } });
});

void test('the scrub starts at MIN_SCRUBBED_LENGTH characters: one shorter is left alone', () => {
  const atLimit = 'Zq9'.padEnd(MIN_SCRUBBED_LENGTH, '!');
  const shorter = 'Wy8'.slice(0, MIN_SCRUBBED_LENGTH - 1);
  const { logger, lines } = capture('info', () => [atLimit, shorter]);
  logger.info(`${atLimit} / ${shorter}`);
  assert.equal((JSON.parse(lines[0] ?? '{}') as { msg: string }).msg, `${REDACTED} / ${shorter}`);
});

void test('a secret containing another is replaced whole, not left half visible', () => {
  const inner = 'abcd1234';
  const outer = `${inner}-and-more-secret`;
  const { logger, lines } = capture('info', () => [inner, outer]);
  logger.info(`x ${outer} y ${inner}`);
  assert.equal((JSON.parse(lines[0] ?? '{}') as { msg: string }).msg, `x ${REDACTED} y ${REDACTED}`);
});

void test('property: any registered secret (any characters) in a message, field or error never reaches the line', () => {
  // '[' and ']' are left out, and parts of the marker: such a secret could be re-formed by the
  // marker itself and the text beside it (docs/observability.md says so).
  const unit = fc.oneof(
    fc.constantFrom('"', '\\', '\n', '\u0000', '\u2028', '\ud800', 'é', '😀', ':', ',', '{', 'a', '1'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  );
  const secretArb = fc
    .string({ unit, minLength: MIN_SCRUBBED_LENGTH, maxLength: 24 })
    .filter((s) => s.length >= MIN_SCRUBBED_LENGTH && !/[[\]]/.test(s) && !REDACTED.includes(s));
  fc.assert(
    fc.property(
      secretArb,
      fc.string({ maxLength: 12 }),
      fc.string({ maxLength: 12 }),
      (secret, before, after) => {
        const { logger, lines } = capture('trace', () => [secret]);
        logger.warn(
          { note: `${before}${secret}${after}`, err: new Error(`${before}${secret}`) },
          `${secret}${after}`,
        );
        assert.equal(lines.length, 1);
        const line = lines[0] ?? '';
        assert.ok(!line.includes(secret), line);
        assert.ok(!line.includes(JSON.stringify(secret).slice(1, -1)), line);
      },
    ),
    { numRuns: 300 },
  );
});

void test('level filtering: below the level nothing is written, at and above it everything is', () => {
  for (const [index, level] of WRITING_LEVELS.entries()) {
    const { logger, lines } = capture(level, () => []);
    for (const at of WRITING_LEVELS) logger[at](`at ${at}`);
    assert.deepEqual(
      lines.map((line) => (JSON.parse(line) as { level: string }).level),
      WRITING_LEVELS.slice(index),
      level,
    );
  }
});

void test('silent writes nothing at any level, through the adapters either', () => {
  const { logger, lines } = capture('silent', () => []);
  for (const level of WRITING_LEVELS) logger[level]({ x: 1 }, 'nothing');
  const module = { name: 'm', publisher: 'p', hash: 'h' };
  logRecordSink(logger)({
    type: 'guest_log',
    level: 'error',
    module,
    traceId: 't',
    message: 'x',
    truncated: false,
  });
  internalErrorLogger(logger)(new Error('hidden'), { name: 'fn', traceId: 't' });
  assert.deepEqual(lines, []);
});

void test('LogRecord adapter: each record type at its level with its event name; guest text never in msg', () => {
  const { logger, lines } = capture('trace', () => []);
  const sink = logRecordSink(logger);
  const module = { name: 'app', publisher: 'ed25519:x', hash: 'ab' };
  sink({ type: 'debug_event', module, traceId: 't1', event: 'node says hi', truncated: true });
  sink({ type: 'guest_log_dropped', module, traceId: 't2', reason: 'module_rate' });
  sink({
    type: 'security',
    event: 'host_call_denied',
    module,
    traceId: 't3',
    capability: 'kv.write',
    function: 'kv_set',
    reason: 'key outside the kv.write prefixes',
  });
  sink({
    type: 'host_error',
    module,
    traceId: 't4',
    capability: 'db.query',
    function: 'db_query',
    error: 'ENOSPC',
  });
  const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(
    parsed.map((p) => [p.level, p.event, p.traceId]),
    [
      ['debug', 'debug_event', 't1'],
      ['warn', 'guest_log_dropped', 't2'],
      ['warn', 'host_call_denied', 't3'],
      ['error', 'host_error', 't4'],
    ],
  );
  assert.equal(parsed[0]?.debugEvent, 'node says hi');
  assert.equal(parsed[0]?.msg, 'guest debug event');
  assert.equal(parsed[1]?.reason, 'module_rate');
  assert.deepEqual([parsed[2]?.capability, parsed[2]?.function], ['kv.write', 'kv_set']);
  assert.equal(parsed[3]?.error, 'ENOSPC');
});

void test('gateway internalError adapter: error level, function, trace id and the error with its stack; a thrown non-Error too', () => {
  const token = randomBytes(32).toString('hex');
  const { logger, lines } = capture('info', () => [token]);
  const onInternalError = internalErrorLogger(logger);
  onInternalError(new TypeError(`bad state near ${token}`), { name: 'hello', traceId: 'abc' });
  onInternalError({ toString: () => `an object with ${token}` }, { name: 'hello', traceId: 'def' });
  onInternalError(
    {
      toString() {
        throw new Error('hostile toString');
      },
    },
    { name: 'x', traceId: 'ghi' },
  );
  assert.equal(lines.length, 3);
  assertNoSecret(lines, [token]);
  const [first, second, third] = lines.map(
    (line) =>
      JSON.parse(line) as {
        level: string;
        event: string;
        function: string;
        traceId: string;
        err: { type: string; message: string; stack: string };
      },
  );
  assert.equal(first?.level, 'error');
  assert.equal(first?.event, 'gateway_internal_error');
  assert.deepEqual([first?.function, first?.traceId, first?.err.type], ['hello', 'abc', 'TypeError']);
  assert.match(first?.err.stack ?? '', /^TypeError: bad state near \[redacted\]/);
  assert.equal(second?.err.message, `non-Error thrown: an object with ${REDACTED}`);
  assert.equal(third?.err.message, 'non-Error thrown: [object Object]');
});

void test('eventLogger (the mesh peer log): one line per event at its level; fields named like the line keys cannot overwrite them', () => {
  const token = randomBytes(32).toString('hex');
  const { logger, lines } = capture('info', () => [token]);
  const log: MeshEventLog = eventLogger(logger);
  log('warn', 'gossip_rejected', { from: '12D3KooWx', code: 'signature_invalid', note: `carried ${token}` });
  log('info', 'peer_connected', { level: 'fatal', msg: 'forged', event: 'forged', time: 0, peer: 'p' });
  eventLogger(logger)('debug', 'below the level', {});
  assert.equal(lines.length, 2);
  assertNoSecret(lines, [token]);
  const [first, second] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.deepEqual(
    [first?.level, first?.event, first?.msg, first?.code],
    ['warn', 'gossip_rejected', 'gossip_rejected', 'signature_invalid'],
  );
  assert.deepEqual(
    [second?.level, second?.event, second?.msg, second?.level_, second?.msg_, second?.event_, second?.time_],
    ['info', 'peer_connected', 'peer_connected', 'fatal', 'forged', 'forged', 0],
  );
  assert.equal(typeof second?.time, 'string');
  // Each key once: JSON.parse keeps the last of duplicates, so count them in the text.
  assert.equal(lines[1]?.match(/"level":/g)?.length, 1);
});

void test('the default destination is stderr, one JSON line per call, nothing on stdout', () => {
  const script = `
    import { createNodeLogger } from './daemon/src/observability/index.ts';
    const logger = createNodeLogger({ level: 'info', secrets: () => ['s3cr3t-value'] });
    logger.info({ event: 'node_started' }, 'started s3cr3t-value');
    logger.debug('not written');
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('../../', import.meta.url),
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, '');
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1);
  const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  assert.equal(line.level, 'info');
  assert.equal(line.event, 'node_started');
  assert.equal(line.msg, `started ${REDACTED}`);
  assert.equal(line.pid, result.pid);
  assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});
