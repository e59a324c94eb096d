import { createHash } from 'node:crypto';

/** Lower-case hex sha-256 of `bytes`: the key of every content-addressed value in the store. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
