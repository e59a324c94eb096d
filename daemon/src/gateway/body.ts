/**
 * Reads a request body as UTF-8 text, bounded in size (413) and in time (408, so a client
 * trickling bytes cannot hold a connection and a slot forever).
 */
import type { IncomingMessage } from 'node:http';
import { GatewayRefusal } from './status.ts';

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A request with neither header has no body (RFC 9112 §6.3): answered without waiting for it. */
const NO_BODY = Promise.resolve('');

export function readBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<string> {
  const declared = req.headers['content-length'];
  // Most calls are bodiless GETs: no timer, no listeners, no decoding for them.
  if (req.headers['transfer-encoding'] === undefined && (declared === undefined || declared === '0')) {
    return NO_BODY;
  }
  if (declared !== undefined && Number(declared) > maxBytes) {
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error: GatewayRefusal | null, text?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onError);
      if (error === null) resolve(text ?? '');
      else reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        finish(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      try {
        finish(null, STRICT_UTF8.decode(Buffer.concat(chunks, size)));
      } catch {
        finish(new GatewayRefusal(400, { code: 'bad_request', message: 'request body is not valid UTF-8' }));
      }
    };
    const onError = (): void => {
      finish(new GatewayRefusal(400, { code: 'bad_request', message: 'request body was cut short' }));
    };
    const timer = setTimeout(() => {
      finish(
        new GatewayRefusal(408, {
          code: 'timeout',
          message: `request body not received within ${timeoutMs} ms (bodyTimeoutMs)`,
        }),
      );
    }, timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onError);
  });
}

function tooLarge(maxBytes: number): GatewayRefusal {
  return new GatewayRefusal(413, {
    code: 'bad_request',
    message: `request body is larger than ${maxBytes} bytes (maxBodyBytes)`,
  });
}
