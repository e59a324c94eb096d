import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { raceAbort } from '@gojinn/errors';
import type { AddressPolicy } from './address-policy.ts';
import { HttpFailure } from './http-failure.ts';

/** One address a host name resolves to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a host name to its addresses. The default is the system resolver (getaddrinfo through
 * `dns.promises.lookup`, so /etc/hosts applies); tests inject their own to play a hostile DNS.
 */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: HostResolver = async (hostname) => {
  const answers = await lookup(hostname, { all: true, order: 'verbatim' });
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/** Most addresses of one name that are checked; a longer answer is refused rather than truncated. */
export const MAX_RESOLVED_ADDRESSES = 64;

/**
 * Resolves `host` ONCE and checks EVERY address it resolves to against `policy`; returns the
 * address the connection must go to (the first). The connection is then made to that literal
 * address, never to the name, so a DNS answer that changes between check and connect (DNS
 * rebinding) cannot redirect it. One refused address refuses the name: a name mixing a public and
 * a private address is how rebinding attacks hedge.
 */
export async function resolveChecked(
  host: string,
  policy: AddressPolicy,
  resolver: HostResolver,
  signal: AbortSignal,
): Promise<ResolvedAddress> {
  const literal = isIP(host);
  if (literal !== 0) {
    const why = policy.denial(host);
    if (why !== undefined)
      throw new HttpFailure('denied', `http request to address ${host} denied: it ${why}`, {
        rule: `address ${why}`,
      });
    return { address: host, family: literal === 6 ? 6 : 4 };
  }
  let answers: readonly ResolvedAddress[];
  try {
    answers = await abortable(resolver(host), signal);
  } catch (error) {
    if (error instanceof HttpFailure) throw error;
    throw new HttpFailure('unreachable', `http request: cannot resolve host ${host}`, { cause: error });
  }
  if (answers.length === 0)
    throw new HttpFailure('unreachable', `http request: host ${host} has no addresses`);
  if (answers.length > MAX_RESOLVED_ADDRESSES) {
    throw new HttpFailure(
      'unreachable',
      `http request: host ${host} resolves to ${answers.length} addresses; the limit is MAX_RESOLVED_ADDRESSES (${MAX_RESOLVED_ADDRESSES})`,
    );
  }
  for (const answer of answers) {
    const why = policy.denial(answer.address);
    if (why !== undefined) {
      throw new HttpFailure(
        'denied',
        `http request to host ${host} denied: it resolves to ${answer.address}, which ${why}`,
        { rule: `resolved address ${why}` },
      );
    }
  }
  const first = answers[0] as ResolvedAddress;
  return { address: first.address, family: isIP(first.address) === 6 ? 6 : 4 };
}

/** `promise`, or a timeout failure as soon as `signal` aborts (a lookup itself cannot be cancelled). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return raceAbort(promise, signal, timeoutFailure);
}

/** The failure a call ends with when its signal aborted: the reason if it is an HttpFailure, else a timeout. */
export function timeoutFailure(signal: AbortSignal): HttpFailure {
  const reason: unknown = signal.reason;
  if (reason instanceof HttpFailure) return reason;
  return new HttpFailure('timeout', 'http request timed out (call timeout or invocation deadline)');
}
