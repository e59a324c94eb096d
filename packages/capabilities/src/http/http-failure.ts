import { GojinnError, type ErrorCode } from '@gojinn/errors';

/**
 * Why an HTTP call did not produce a response. Each kind has one stable error code; the message
 * names the limit, host or rule involved and never carries response data.
 *
 * - `denied`: the URL's origin is outside the module's allow-list, its scheme is not http(s), or
 *   the host resolves to an address the node's address rules refuse (SSRF defence).
 * - `bad_request`: the guest's request is malformed.
 * - `request_too_large`: the guest's request is over a request limit (URL, headers, body).
 * - `response_too_large`: the response's headers or body passed their limit.
 * - `timeout`: the call's timeout or the invocation's deadline came first.
 * - `too_many_redirects`: more than maxRedirects redirects.
 * - `bad_response`: the origin answered with something that is not acceptable HTTP (malformed
 *   message, a redirect whose Location is not a URL or carries credentials).
 * - `unreachable`: name resolution, connection, TLS or HTTP parsing failed upstream.
 */
export const HTTP_FAILURE_CODES = Object.freeze({
  denied: 'capability_denied',
  bad_request: 'bad_request',
  request_too_large: 'bad_request',
  response_too_large: 'output_limit',
  timeout: 'timeout',
  too_many_redirects: 'bad_response',
  bad_response: 'bad_response',
  unreachable: 'peer_unreachable',
} as const satisfies Record<string, ErrorCode>);

export type HttpFailureKind = keyof typeof HTTP_FAILURE_CODES;

export class HttpFailure extends GojinnError {
  readonly kind: HttpFailureKind;
  /**
   * For `denied`: the rule that refused, without any request data (no host, URL or address),
   * fit for the security log — e.g. "origin outside net.http hosts", "address is loopback
   * (127.0.0.0/8)". The message, which names the host, is for the guest's own diagnostics.
   */
  readonly rule: string | undefined;

  constructor(kind: HttpFailureKind, message: string, options?: { cause?: unknown; rule?: string }) {
    super(
      HTTP_FAILURE_CODES[kind],
      message,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.kind = kind;
    this.rule = options?.rule;
  }
}
