import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { AddressPolicy } from './address-policy.ts';
import {
  resolveChecked,
  systemResolver,
  timeoutFailure,
  type HostResolver,
  type ResolvedAddress,
} from './checked-resolver.ts';
import { urlOrigin, type HostAllowList, type UrlOrigin } from './host-patterns.ts';
import { HttpFailure } from './http-failure.ts';
import { resolveHttpLimits, type HttpLimits } from './limits.ts';
import { CREDENTIAL_HEADERS, checkRequestHeaders } from './request-headers.ts';
import { HTTP_METHODS, type HttpFetchRequest, type HttpFetchResponse, type HttpMethod } from './types.ts';

export interface HttpFetcherOptions {
  /** Overrides of DEFAULT_HTTP_LIMITS. */
  limits?: Partial<HttpLimits>;
  /** CIDR ranges exempt from the address rules (AddressPolicy); none by default. */
  allowedRanges?: readonly string[];
  /** Name resolution; the system resolver by default. Tests inject a hostile one. */
  resolver?: HostResolver;
  /** Certificate authorities trusted for HTTPS instead of Node's bundled roots (a private PKI, tests). */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** `user-agent` sent when the guest sets none. */
  userAgent?: string;
}

/** What one call may reach and how long it may take: the calling module's scope. */
export interface HttpCallScope {
  /** The module's effective origins (declared ∩ granted). */
  allowList: HostAllowList;
  /** The invocation's signal: aborting it (deadline, end of invocation) stops the call. */
  signal?: AbortSignal | undefined;
}

export const DEFAULT_USER_AGENT = 'gojinn-http/1';

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
const METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);
/** Headers describing a body; dropped with the body when a redirect turns a request into a GET. */
const BODY_HEADERS: readonly string[] = [
  'content-encoding',
  'content-language',
  'content-location',
  'content-type',
];

interface Hop {
  url: URL;
  method: HttpMethod;
  headers: [string, string][];
  body: Uint8Array;
}

interface Exchange {
  request: http.ClientRequest;
  response: http.IncomingMessage;
}

/**
 * Outbound HTTP/1.1 for guests, SSRF-safe: every hop's origin must be in the module's allow-list,
 * its host name is resolved once and every address checked against the node's AddressPolicy,
 * and the socket is opened to exactly the checked address (no second lookup: safe against DNS
 * rebinding). Nothing ambient goes out: no agent (so no pooled connections shared between
 * modules, no proxy from the environment), no cookie jar, no client certificate, no default
 * Authorization; credentials the guest set itself are dropped when a redirect leaves their origin.
 */
export class HttpFetcher {
  readonly limits: Readonly<HttpLimits>;
  readonly addressPolicy: AddressPolicy;
  readonly #resolver: HostResolver;
  readonly #ca: string | Buffer | (string | Buffer)[] | undefined;
  readonly #userAgent: string;

  constructor(options: HttpFetcherOptions = {}) {
    this.limits = Object.freeze(resolveHttpLimits(options.limits));
    this.addressPolicy = new AddressPolicy({ allowedRanges: options.allowedRanges ?? [] });
    this.#resolver = options.resolver ?? systemResolver;
    this.#ca = Array.isArray(options.ca)
      ? [...(options.ca as (string | Buffer)[])]
      : (options.ca as string | Buffer | undefined);
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  }

  /**
   * Performs `request` within `scope`. Resolves with the final response (body read in full, at
   * most maxResponseBodyBytes); rejects with an HttpFailure (a GojinnError) whose kind says why.
   */
  async fetch(request: HttpFetchRequest, scope: HttpCallScope): Promise<HttpFetchResponse> {
    const limits = this.limits;
    let hop = this.#firstHop(request);
    const timeoutMs = Math.min(request.timeoutMs ?? limits.timeoutMs, limits.timeoutMs);
    const { signal, dispose } = callSignal(scope.signal, timeoutMs);
    try {
      for (let redirects = 0; ; redirects++) {
        let origin: UrlOrigin;
        let target: ResolvedAddress;
        try {
          origin = checkOrigin(hop.url, scope.allowList);
          target = await resolveChecked(origin.host, this.addressPolicy, this.#resolver, signal);
        } catch (error) {
          throw redirects > 0 ? redirectDenial(error, redirects) : error;
        }
        const exchange = await this.#send(hop, origin, target, signal);
        const { response } = exchange;
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (request.redirect === 'manual' || !REDIRECT_STATUSES.has(status) || location === undefined) {
          const body = await readBody(exchange, hop.method, limits.maxResponseBodyBytes, signal, origin);
          return { status, headers: headerPairs(response.rawHeaders), body, url: hop.url.href, redirects };
        }
        // A redirect's own body is never read: the connection is closed under it.
        exchange.request.destroy();
        if (redirects >= limits.maxRedirects) {
          throw new HttpFailure(
            'too_many_redirects',
            `http request followed ${redirects} redirects; the limit is maxRedirects (${limits.maxRedirects})`,
          );
        }
        hop = nextHop(hop, status, location);
      }
    } finally {
      dispose();
    }
  }

  /** Checks the guest's request once (bad_request on anything malformed or over a limit). */
  #firstHop(request: HttpFetchRequest): Hop {
    const limits = this.limits;
    if (!METHODS.has(request.method)) {
      throw new HttpFailure(
        'bad_request',
        `http method ${JSON.stringify(String(request.method).slice(0, 16))} is not one of ${HTTP_METHODS.join(', ')}`,
      );
    }
    if (typeof request.url !== 'string')
      throw new HttpFailure('bad_request', 'http request URL must be a string');
    if (request.url.length > limits.maxUrlLength) {
      throw new HttpFailure(
        'request_too_large',
        `http request URL is longer than maxUrlLength (${limits.maxUrlLength} characters)`,
      );
    }
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      throw new HttpFailure('bad_request', 'http request URL is not an absolute URL');
    }
    if (url.username !== '' || url.password !== '') {
      throw new HttpFailure('bad_request', 'http request URL may not carry a user name or password');
    }
    if (request.body.byteLength > limits.maxRequestBodyBytes) {
      throw new HttpFailure(
        'request_too_large',
        `http request body is ${request.body.byteLength} bytes; the limit is maxRequestBodyBytes (${limits.maxRequestBodyBytes})`,
      );
    }
    if ((request.method === 'GET' || request.method === 'HEAD') && request.body.byteLength > 0) {
      throw new HttpFailure('bad_request', `http ${request.method} request may not have a body`);
    }
    if (
      request.timeoutMs !== undefined &&
      (!Number.isSafeInteger(request.timeoutMs) || request.timeoutMs < 1)
    ) {
      throw new HttpFailure('bad_request', 'http request timeout must be a positive integer of milliseconds');
    }
    const headers = checkRequestHeaders(request.headers, limits);
    return { url, method: request.method, headers, body: request.body };
  }

  #send(hop: Hop, origin: UrlOrigin, target: ResolvedAddress, signal: AbortSignal): Promise<Exchange> {
    // Null prototype: a guest header named `__proto__` is a header like any other.
    const outgoing = Object.assign(Object.create(null) as Record<string, string>, {
      host: hop.url.host,
      'user-agent': this.#userAgent,
    });
    for (const [name, value] of hop.headers) outgoing[name] = value;
    if (hop.body.byteLength > 0 || hop.method === 'POST' || hop.method === 'PUT' || hop.method === 'PATCH') {
      outgoing['content-length'] = String(hop.body.byteLength);
    }
    return new Promise<Exchange>((resolve, reject) => {
      const request = http.request({
        method: hop.method,
        path: `${hop.url.pathname}${hop.url.search}`,
        headers: outgoing,
        setHost: false,
        // No agent: createConnection is the only way a socket is made, so it goes to the
        // checked address and nothing (proxy, pooled socket, env) can substitute another.
        createConnection: () => this.#connect(origin, target),
        maxHeaderSize: this.limits.maxResponseHeaderBytes,
        insecureHTTPParser: false,
        signal,
      });
      request.once('response', (response) => resolve({ request, response }));
      // `on`, not `once`: a socket can fail again after the first error, and an unheard 'error' crashes.
      request.on('error', (error) => reject(upstreamFailure(error, signal, origin, this.limits)));
      request.end(hop.body);
    });
  }

  #connect(origin: UrlOrigin, target: ResolvedAddress): net.Socket {
    const address = { host: target.address, port: origin.port, family: target.family };
    if (origin.scheme === 'http') return net.connect(address);
    const name = origin.host;
    return tls.connect({
      ...address,
      servername: net.isIP(name) === 0 ? name : undefined,
      ca: this.#ca,
      rejectUnauthorized: true,
      ALPNProtocols: ['http/1.1'],
      // The certificate must be for the URL's host, not for the address connected to.
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
    });
  }
}

function checkOrigin(url: URL, allowList: HostAllowList): UrlOrigin {
  const origin = urlOrigin(url);
  if (origin === undefined) {
    throw new HttpFailure(
      'denied',
      `http request denied: scheme ${JSON.stringify(url.protocol.slice(0, 16))} is not http: or https:`,
      { rule: 'scheme is not http or https' },
    );
  }
  if (!allowList.allows(url)) {
    throw new HttpFailure(
      'denied',
      `http request to ${originText(origin)} denied: not in the module's net.http hosts`,
      { rule: 'origin outside net.http hosts' },
    );
  }
  return origin;
}

/** A refusal of a redirect target says so: the guest asked for an allowed URL, the origin sent it on. */
function redirectDenial(error: unknown, redirects: number): unknown {
  if (!(error instanceof HttpFailure) || error.kind !== 'denied') return error;
  return new HttpFailure('denied', `redirect ${redirects}: ${error.message}`, {
    rule: `redirect target ${error.rule ?? 'denied'}`,
  });
}

function originText(origin: UrlOrigin): string {
  const host = net.isIP(origin.host) === 6 ? `[${origin.host}]` : origin.host;
  return `${origin.scheme}://${host}:${origin.port}`;
}

function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.hostname === b.hostname && a.port === b.port;
}

/** The request a redirect asks for (fetch()'s rules for method, body and credential headers). */
function nextHop(hop: Hop, status: number, location: string): Hop {
  let url: URL;
  try {
    url = new URL(location, hop.url);
  } catch {
    throw new HttpFailure('bad_response', `redirect from ${hop.url.origin} has a Location that is not a URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new HttpFailure(
      'bad_response',
      `redirect from ${hop.url.origin} has a Location with a user name or password`,
    );
  }
  let { method, headers, body } = hop;
  if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    body = new Uint8Array(0);
    headers = headers.filter(([name]) => !BODY_HEADERS.includes(name));
  }
  if (!sameOrigin(hop.url, url)) headers = headers.filter(([name]) => !CREDENTIAL_HEADERS.includes(name));
  return { url, method, headers, body };
}

function headerPairs(raw: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2)
    pairs.push([(raw[i] as string).toLowerCase(), raw[i + 1] as string]);
  return pairs;
}

/** Reads the body to its end, failing one byte past `max` (or at once when Content-Length says so). */
function readBody(
  exchange: Exchange,
  method: HttpMethod,
  max: number,
  signal: AbortSignal,
  origin: UrlOrigin,
): Promise<Uint8Array> {
  const { request, response } = exchange;
  const tooLarge = (): HttpFailure =>
    new HttpFailure('response_too_large', `http response body exceeds maxResponseBodyBytes (${max} bytes)`);
  return new Promise<Uint8Array>((resolve, reject) => {
    const fail = (failure: HttpFailure): void => {
      reject(failure);
      request.destroy();
    };
    const declared = response.headers['content-length'];
    if (method !== 'HEAD' && declared !== undefined && Number(declared) > max) {
      fail(tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    response.on('data', (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > max) fail(tooLarge());
      else chunks.push(chunk);
    });
    response.once('end', () => resolve(new Uint8Array(Buffer.concat(chunks, total))));
    response.once('error', (error) => reject(upstreamFailure(error, signal, origin)));
    response.once('close', () => {
      if (!response.complete) reject(upstreamFailure(new Error('response ended early'), signal, origin));
    });
  });
}

/** Maps a Node error from a request or response to an HttpFailure naming the origin (never data). */
function upstreamFailure(
  error: unknown,
  signal: AbortSignal,
  origin: UrlOrigin,
  limits?: Pick<HttpLimits, 'maxResponseHeaderBytes'>,
): HttpFailure {
  if (signal.aborted) return timeoutFailure(signal);
  if (error instanceof HttpFailure) return error;
  const code =
    typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : undefined;
  const where = originText(origin);
  if (code === 'HPE_HEADER_OVERFLOW') {
    const limit = limits === undefined ? '' : ` (${limits.maxResponseHeaderBytes} bytes)`;
    return new HttpFailure(
      'response_too_large',
      `http response headers from ${where} exceed maxResponseHeaderBytes${limit}`,
      { cause: error },
    );
  }
  if (code?.startsWith('HPE_') === true) {
    return new HttpFailure('bad_response', `http response from ${where} is not valid HTTP/1.1 (${code})`, {
      cause: error,
    });
  }
  return new HttpFailure(
    'unreachable',
    `http request to ${where} failed${code === undefined ? '' : ` (${code})`}`,
    { cause: error },
  );
}

/**
 * The call's own signal: aborted with a timeout HttpFailure after `timeoutMs`, or when the
 * invocation's signal aborts. `dispose` clears the timer and the listener.
 */
function callSignal(
  parent: AbortSignal | undefined,
  timeoutMs: number,
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(
      new HttpFailure('timeout', `http request exceeded its timeout of ${timeoutMs} ms (timeoutMs)`),
    );
  }, timeoutMs);
  const onParent = (): void => {
    controller.abort(new HttpFailure('timeout', 'http request stopped: its invocation ended (deadline)'));
  };
  if (parent?.aborted === true) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    },
  };
}
