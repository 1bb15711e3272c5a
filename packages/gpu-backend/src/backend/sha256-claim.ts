/**
 * A caller's claim about the SHA-256 of one image's bytes (`content-digest`, RFC 9530), carried from the
 * HTTP layer to the code that hashes the bytes where they are decoded, and back. The answer may confirm
 * the digest (`x-coyo-verified-sha256`) only from {@link Sha256Claim.verified}, which nothing but that
 * code sets: a layer in between that drops the claim leaves the answer unconfirmed, never falsely
 * confirmed.
 */
import { createHash } from 'node:crypto';
import { ImageInputError } from '../models/errors.js';

/** Lower-case hex SHA-256 of `bytes`. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * `undefined` when `bytes` have the SHA-256 `expected` (lower-case hex), else the `digest_mismatch`
 * refusal to throw; and the digest computed, which a match must report through {@link Sha256Claim.confirm}.
 */
export function checkSha256(bytes: Uint8Array, expected: string): { sha256: string; mismatch?: ImageInputError } {
  const sha256 = sha256Hex(bytes);
  if (sha256 === expected) return { sha256 };
  return { sha256, mismatch: new ImageInputError('digest_mismatch', `the body's SHA-256 is ${sha256}; content-digest says ${expected}`) };
}

export class Sha256Claim {
  #verified = false;

  /** `expected`: the lower-case hex SHA-256 the caller claims. */
  constructor(readonly expected: string) {}

  /** Records that the bytes behind the answer were hashed and had the claimed digest `sha256`. */
  confirm(sha256: string): void {
    if (sha256 !== this.expected) throw new Error(`bug: a digest ${sha256} confirmed for a claim of ${this.expected}`);
    this.#verified = true;
  }

  /** The digest, once the bytes have been found to have it; `undefined` until then. */
  get verified(): string | undefined {
    return this.#verified ? this.expected : undefined;
  }
}
