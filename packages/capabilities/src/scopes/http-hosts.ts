/**
 * net.http scopes: origin patterns `scheme://[*.]host[:port]` (grammar in docs/manifest.md).
 * An origin matches a pattern when scheme and port (the scheme's default when omitted) are equal
 * and the host is equal — or, for `*.host`, ends with `.host` (one or more labels in front; the
 * bare `host` does not match, nor does an IP address). The net.http handler matches URLs the
 * same way (src/http/host-patterns.ts); this file only compares patterns with each other.
 *
 * Two patterns that share an origin are always nested (the same scheme and port, and one host
 * set inside the other), so the intersection of two pattern lists is exact and again a list.
 */

interface ParsedPattern {
  scheme: string;
  wildcard: boolean;
  host: string;
  port: string;
}

const PATTERN = /^(https?):\/\/(\*\.)?([a-z0-9.-]+)(?::([0-9]+))?$/;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/** Parses a pattern already checked by the manifest grammar (httpHostPatternProblem). */
export function parseOriginPattern(pattern: string): ParsedPattern {
  const match = PATTERN.exec(pattern);
  if (match === null) throw new RangeError('not an http host pattern');
  const [, scheme = '', wildcard, host = '', port] = match;
  return { scheme, wildcard: wildcard !== undefined, host, port: port ?? DEFAULT_PORTS[scheme] ?? '' };
}

/** True when every origin `inner` matches, `outer` matches too. */
export function patternContains(outer: string, inner: string): boolean {
  const o = parseOriginPattern(outer);
  const i = parseOriginPattern(inner);
  if (o.scheme !== i.scheme || o.port !== i.port) return false;
  if (!o.wildcard) return !i.wildcard && o.host === i.host;
  // A wildcard never matches an IP address (originMatches), so it cannot contain one either:
  // without this, `*.0.0.1` ∩ `127.0.0.1` would hand a module an address it never declared.
  if (!i.wildcard && isIpLiteral(i.host)) return false;
  return i.host.endsWith(`.${o.host}`) || (i.wildcard && i.host === o.host);
}

/** An IPv4 literal (patterns cannot hold IPv6 hosts) or, for URLs, any host with a colon. */
function isIpLiteral(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

/** True when the origin (scheme, lowercase host, port) matches the pattern. */
export function originMatches(pattern: string, scheme: string, host: string, port: number): boolean {
  const p = parseOriginPattern(pattern);
  if (p.scheme !== scheme || p.port !== String(port)) return false;
  if (!p.wildcard) return p.host === host;
  return !isIpLiteral(host) && host.endsWith(`.${p.host}`);
}

/** The same origin set with no pattern another contains, sorted. */
export function minimalPatterns(patterns: readonly string[]): string[] {
  const unique = [...new Set(patterns)];
  return unique
    .filter((pattern) => !unique.some((other) => other !== pattern && patternContains(other, pattern)))
    .sort();
}

export function intersectPatterns(a: readonly string[], b: readonly string[]): string[] {
  const shared: string[] = [];
  for (const x of a) {
    for (const y of b) {
      if (patternContains(y, x)) shared.push(x);
      else if (patternContains(x, y)) shared.push(y);
    }
  }
  return minimalPatterns(shared);
}

export function unionPatterns(a: readonly string[], b: readonly string[]): string[] {
  return minimalPatterns([...a, ...b]);
}
