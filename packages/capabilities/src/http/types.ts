/** The HTTP methods a guest may use. CONNECT (tunnels) and TRACE (echoes credentials) are not among them. */
export const HTTP_METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** What to do with a 301/302/303/307/308 response. */
export type RedirectMode = 'follow' | 'manual';

/** One outbound request, as decoded from a guest (request-codec.ts) or built by host code. */
export interface HttpFetchRequest {
  method: HttpMethod;
  /** Absolute http(s) URL. */
  url: string;
  /** Name/value pairs; names are matched case-insensitively. */
  headers: readonly (readonly [string, string])[];
  body: Uint8Array;
  /** `follow` (default) follows up to maxRedirects, re-checking every hop; `manual` returns the 3xx. */
  redirect: RedirectMode;
  /** This call's own timeout in ms, at most the node's timeoutMs; undefined ⇒ timeoutMs. */
  timeoutMs?: number | undefined;
}

export interface HttpFetchResponse {
  status: number;
  /** Lowercase names in arrival order, one entry per header line (repeats kept). */
  headers: [string, string][];
  body: Uint8Array;
  /** The URL that produced this response (after redirects). */
  url: string;
  /** Redirects followed to get here. */
  redirects: number;
}
