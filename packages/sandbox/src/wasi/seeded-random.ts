import { createCipheriv, createHash, type Cipheriv } from 'node:crypto';

const RANDOM_DOMAIN = Buffer.from('gojinn-random-v1');
/** Largest slice of keystream produced at once, so a huge random_get never allocates a huge buffer. */
const KEYSTREAM_CHUNK = 64 * 1024;
const ZEROS = new Uint8Array(KEYSTREAM_CHUNK);

/**
 * The guest's `random_get` stream: AES-256-CTR keystream under key sha256("gojinn-random-v1" ‖ seed),
 * counter starting at zero. A CSPRNG for anyone who does not know the seed, and the same bytes for
 * the same seed on every node (the seed is recorded in the invocation's receipt).
 */
export class SeededRandom {
  readonly #seed: Uint8Array;
  #cipher: Cipheriv | null = null;

  constructor(seed: Uint8Array) {
    this.#seed = seed;
  }

  /** Overwrites `target` with the next `target.byteLength` bytes of the stream. */
  fill(target: Uint8Array): void {
    // Keyed lazily: most invocations never ask for randomness.
    this.#cipher ??= createCipheriv(
      'aes-256-ctr',
      createHash('sha256').update(RANDOM_DOMAIN).update(this.#seed).digest(),
      Buffer.alloc(16),
    );
    for (let offset = 0; offset < target.byteLength; offset += KEYSTREAM_CHUNK) {
      const size = Math.min(KEYSTREAM_CHUNK, target.byteLength - offset);
      target.set(this.#cipher.update(ZEROS.subarray(0, size)), offset);
    }
  }
}
