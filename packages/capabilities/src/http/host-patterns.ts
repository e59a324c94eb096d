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
