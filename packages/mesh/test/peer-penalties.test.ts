/**
 * PeerPenalties on an injected clock: the ban threshold at its edge, the score's decay, the
 * ban's doubling and its cap, forgetting a quiet peer, the bound on tracked peers (banned
 * peers evicted last) and the limits' validation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PEER_PENALTY_LIMITS, PeerPenalties } from '../src/peer-penalties.ts';
import type { PeerPenaltyLimits } from '../src/peer-penalties.ts';

function penaltiesAt(limits: Partial<PeerPenaltyLimits> = {}): {
  penalties: PeerPenalties;
  clock: { now: number };
} {
  const clock = { now: 1_000_000 };
  return { penalties: new PeerPenalties({ limits, now: () => clock.now }), clock };
}

void test('defaults: three misbehaviours at once ban for 5 minutes; 10-minute half-life; 24 h cap; 1024 peers', () => {
  assert.deepEqual(
    { ...DEFAULT_PEER_PENALTY_LIMITS },
    {
      banThreshold: 3,
      scoreHalfLifeMs: 600_000,
      firstBanMs: 300_000,
      maxBanMs: 86_400_000,
      forgetAfterMs: 86_400_000,
      maxTrackedPeers: 1024,
    },
  );
  assert.deepEqual(new PeerPenalties().limits, DEFAULT_PEER_PENALTY_LIMITS);
});

void test(`banThreshold at its edge: ${DEFAULT_PEER_PENALTY_LIMITS.banThreshold - 1} misbehaviours do not ban, one more at the same instant does, for firstBanMs exactly`, () => {
  const { penalties, clock } = penaltiesAt();
  const { banThreshold, firstBanMs } = penalties.limits;
  for (let i = 1; i < banThreshold; i++) {
    assert.deepEqual(penalties.misbehaved('liar'), { banned: false, score: i });
    assert.equal(penalties.isBanned('liar'), false);
  }
  const start = clock.now;
  assert.deepEqual(penalties.misbehaved('liar'), {
    banned: true,
    until: start + firstBanMs,
    banMs: firstBanMs,
    bans: 1,
  });
  assert.equal(penalties.isBanned('liar'), true);
  assert.equal(penalties.isBanned('someone-else'), false);
  clock.now = start + firstBanMs - 1;
  assert.equal(penalties.isBanned('liar'), true, 'banned until the last millisecond');
  clock.now = start + firstBanMs;
  assert.equal(penalties.isBanned('liar'), false, 'free at `until`');
  assert.equal(penalties.score('liar'), 0, 'the ban paid for the score');
});

void test('decay: the score halves at the end of each scoreHalfLifeMs, not before; misbehaviours spread out never reach the threshold', () => {
  const { penalties, clock } = penaltiesAt();
  const { scoreHalfLifeMs } = penalties.limits;
  const start = clock.now;
  // Within one half-life every misbehaviour counts in full, up to its last millisecond.
  penalties.misbehaved('quick');
  penalties.misbehaved('quick');
  clock.now = start + scoreHalfLifeMs - 1;
  assert.equal(penalties.score('quick'), 2);
  assert.equal(penalties.misbehaved('quick').banned, true);
  // At the half-life the score has halved: the third is not enough.
  clock.now = start;
  penalties.misbehaved('slow');
  penalties.misbehaved('slow');
  clock.now = start + scoreHalfLifeMs;
  assert.equal(penalties.score('slow'), 1);
  assert.deepEqual(penalties.misbehaved('slow'), { banned: false, score: 2 });
  clock.now = start + 3 * scoreHalfLifeMs;
  assert.equal(penalties.score('slow'), 0.5, 'two more half-lives: a quarter');
  // The half-lives count from the first misbehaviour, not the latest: one every half-life
  // minus 1 ms still decays (the score tends to 2, below 3).
  const { penalties: steady, clock: steadyClock } = penaltiesAt();
  for (let i = 0; i < 40; i++) {
    assert.equal(steady.misbehaved('steady').banned, false, `round ${i}`);
    steadyClock.now += scoreHalfLifeMs - 1;
  }
  // Twice as often, it is banned.
  const { penalties: fast, clock: fastClock } = penaltiesAt();
  let rounds = 0;
  while (!fast.misbehaved('fast').banned) {
    fastClock.now += scoreHalfLifeMs / 2;
    assert.ok(++rounds < 40, 'banned within 40 rounds');
  }
});

void test('each later ban doubles, up to maxBanMs; misbehaving while banned does not lengthen the ban', () => {
  const { penalties, clock } = penaltiesAt({ banThreshold: 2, firstBanMs: 1000, maxBanMs: 5000 });
  const lengths: number[] = [];
  for (let ban = 0; ban < 5; ban++) {
    penalties.misbehaved('liar');
    const verdict = penalties.misbehaved('liar');
    assert.ok(verdict.banned);
    assert.equal(verdict.bans, ban + 1);
    assert.equal(verdict.until, clock.now + verdict.banMs);
    lengths.push(verdict.banMs);
    // While banned (a round that was already running), the same ban is reported.
    clock.now += 1;
    assert.deepEqual(penalties.misbehaved('liar'), verdict);
    clock.now = verdict.until;
    assert.equal(penalties.isBanned('liar'), false);
  }
  assert.deepEqual(lengths, [1000, 2000, 4000, 5000, 5000]);
});

void test('forgetAfterMs: a peer quiet that long after its ban ended starts again from firstBanMs; one millisecond less and it does not', () => {
  for (const [quietMs, expected] of [
    [9_999, 2000],
    [10_000, 1000],
  ] as const) {
    const { penalties, clock } = penaltiesAt({
      banThreshold: 1,
      firstBanMs: 1000,
      maxBanMs: 60_000,
      forgetAfterMs: 10_000,
    });
    const first = penalties.misbehaved('liar');
    assert.ok(first.banned && first.banMs === 1000);
    clock.now = first.until + quietMs;
    const second = penalties.misbehaved('liar');
    assert.ok(second.banned);
    assert.equal(second.banMs, expected, `quiet for ${quietMs} ms`);
  }
});

void test('maxTrackedPeers at its limit: the least recently penalised unbanned peer is forgotten first; banned peers go last', () => {
  const { penalties, clock } = penaltiesAt({ banThreshold: 2, maxTrackedPeers: 3 });
  for (const peer of ['a', 'b', 'c']) penalties.misbehaved(peer);
  assert.equal(penalties.size, 3, 'at the limit, nobody forgotten');
  penalties.misbehaved('a'); // a is banned now, and the most recently penalised
  assert.equal(penalties.isBanned('a'), true);
  penalties.misbehaved('b'); // b: score 2 → banned too
  penalties.misbehaved('d'); // one over: c, the only unbanned, goes
  assert.equal(penalties.size, 3);
  assert.deepEqual(
    ['a', 'b', 'c', 'd'].map((peer) => [peer, penalties.isBanned(peer), penalties.score(peer)]),
    [
      ['a', true, 0],
      ['b', true, 0],
      ['c', false, 0],
      ['d', false, 1],
    ],
  );
  // A flood of fresh ids cannot push the banned peers out.
  for (let i = 0; i < 100; i++) penalties.misbehaved(`flood-${i}`);
  assert.equal(penalties.size, 3);
  assert.equal(penalties.isBanned('a'), true);
  assert.equal(penalties.isBanned('b'), true);
  // Every tracked peer banned: the least recently penalised one (a) goes.
  penalties.misbehaved('flood-99');
  assert.equal(penalties.isBanned('flood-99'), true);
  clock.now += 1;
  penalties.misbehaved('e');
  assert.equal(penalties.size, 3);
  assert.deepEqual(
    ['a', 'b', 'flood-99', 'e'].map((peer) => penalties.isBanned(peer)),
    [false, true, true, false],
  );
  assert.equal(penalties.score('e'), 1);
});

void test('limits are validated: each a positive integer, maxBanMs ≥ firstBanMs (equal is allowed)', () => {
  for (const limits of [
    { banThreshold: 0 },
    { scoreHalfLifeMs: 1.5 },
    { firstBanMs: -1 },
    { maxBanMs: Number.NaN },
    { forgetAfterMs: Infinity },
    { maxTrackedPeers: 0 },
    { firstBanMs: 1001, maxBanMs: 1000 },
  ]) {
    assert.throws(() => new PeerPenalties({ limits }), { code: 'bad_request' }, JSON.stringify(limits));
  }
  const { penalties } = penaltiesAt({ banThreshold: 1, firstBanMs: 1000, maxBanMs: 1000 });
  const verdict = penalties.misbehaved('x');
  assert.ok(verdict.banned && verdict.banMs === 1000);
});
