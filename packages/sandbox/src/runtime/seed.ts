import { GojinnError } from '@gojinn/errors';
import { randomHex } from './random-hex.ts';

/** Bytes in an invocation seed. */
export const SEED_BYTES = 32;

const SEED_PATTERN = /^[0-9a-fA-F]{64}$/;

/**
 * A fresh invocation seed: 32 random bytes, hex. The seed is the only source of the guest's
 * clock and randomness, so recording it (in the receipt, in `--json` output) makes a run
 * reproducible.
 */
export function newSeed(): string {
  return randomHex(SEED_BYTES);
}

/** The 32 bytes of a hex seed; anything but exactly 64 hex characters ⇒ GojinnError bad_request. */
export function parseSeed(hex: string): Uint8Array {
  if (typeof hex !== 'string' || !SEED_PATTERN.test(hex)) {
    const got = typeof hex !== 'string' ? `a ${typeof hex}` : `${hex.length} characters`;
    throw new GojinnError(
      'bad_request',
      `seed must be exactly ${SEED_BYTES * 2} hex characters (${SEED_BYTES} bytes); got ${got}`,
    );
  }
  return Buffer.from(hex, 'hex');
}
