import { isIP } from 'node:net';
import { GojinnError } from '@gojinn/errors';
import { httpHostPatternProblem } from '@gojinn/manifest';

/**
 * The per-module allow-list of origins (manifest scope `net.http.hosts`, grammar in
 * docs/manifest.md): `scheme://host[:port]`, the host optionally `*.`-prefixed. A URL matches a
 * pattern when its scheme, port (the scheme's default when absent) and host all match; `*.` matches
 * one or more labels in front of the rest (`*.example.com` matches `a.example.com` and
 * `a.b.example.com`, not `example.com`) and never matches an IP address.
 */
export interface HostPattern {
  readonly scheme: 'http' | 'https';
  readonly wildcard: boolean;
  /** Lowercase DNS name (or dotted quad) without the `*.`. */
  readonly host: string;
  readonly port: number;
  /** The pattern as written. */
  readonly text: string;
}

const DEFAULT_PORTS = { http: 80, https: 443 } as const;

/** Parses one pattern (already valid in a verified manifest; re-checked for grants from config). */
export function parseHostPattern(text: string): HostPattern {
  const problem = typeof text === 'string' ? httpHostPatternProblem(text) : 'must be a string';
  if (problem !== undefined) {
    throw new GojinnError(
      'bad_request',
      `http host pattern ${JSON.stringify(String(text).slice(0, 64))} ${problem}`,
    );
  }
  const schemeEnd = text.indexOf('://');
  const scheme = text.slice(0, schemeEnd) === 'https' ? 'https' : 'http';
  let rest = text.slice(schemeEnd + 3);
  const wildcard = rest.startsWith('*.');
  if (wildcard) rest = rest.slice(2);
  const colon = rest.indexOf(':');
  const host = colon === -1 ? rest : rest.slice(0, colon);
  const port = colon === -1 ? DEFAULT_PORTS[scheme] : Number(rest.slice(colon + 1));
  return { scheme, wildcard, host, port, text };
}

/** The origin parts of a URL the matcher compares. */
export interface UrlOrigin {
  scheme: 'http' | 'https';
  /** Lowercase host as the WHATWG URL parser normalised it; IPv6 without brackets. */
  host: string;
  port: number;
}

/** Origin of `url`, or undefined when its scheme is not http or https. */
export function urlOrigin(url: URL): UrlOrigin | undefined {
  const scheme = url.protocol === 'http:' ? 'http' : url.protocol === 'https:' ? 'https' : undefined;
  if (scheme === undefined) return undefined;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { scheme, host, port: url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port) };
}

export function patternMatches(pattern: HostPattern, origin: UrlOrigin): boolean {
  if (pattern.scheme !== origin.scheme || pattern.port !== origin.port) return false;
  if (!pattern.wildcard) return pattern.host === origin.host;
  return isIP(origin.host) === 0 && origin.host.endsWith(`.${pattern.host}`);
}

/** The origins one module may reach: a set of patterns, matched in any order. */
export class HostAllowList {
  readonly patterns: readonly HostPattern[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns.map(parseHostPattern);
  }

  allows(url: URL): boolean {
    const origin = urlOrigin(url);
    return origin !== undefined && this.patterns.some((pattern) => patternMatches(pattern, origin));
  }
}

/**
 * The patterns whose matches are exactly the URLs both `a` and `b` allow: how a module's declared
 * scope is narrowed by a node's grant (and a grant by a peer's ceiling). Sorted, no duplicates.
 */
export function intersectHostPatterns(a: readonly string[], b: readonly string[]): string[] {
  const left = a.map(parseHostPattern);
  const right = b.map(parseHostPattern);
  const out = new Set<string>();
  for (const x of left) {
    for (const y of right) {
      const both = intersectPair(x, y);
      if (both !== undefined) out.add(both.text);
    }
  }
  return [...out].sort();
}

function intersectPair(x: HostPattern, y: HostPattern): HostPattern | undefined {
  if (x.scheme !== y.scheme || x.port !== y.port) return undefined;
  if (!x.wildcard && !y.wildcard) return x.host === y.host ? x : undefined;
  if (!x.wildcard) return patternMatches(y, x) ? x : undefined;
  if (!y.wildcard) return patternMatches(x, y) ? y : undefined;
  // Both wildcards: the narrower one, when one base is the other or a subdomain of it.
  if (x.host === y.host || x.host.endsWith(`.${y.host}`)) return x;
  if (y.host.endsWith(`.${x.host}`)) return y;
  return undefined;
}
