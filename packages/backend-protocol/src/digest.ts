/**
 * `Content-Digest` (RFC 9530) with SHA-256: a caller that knows the SHA-256 of an image body sends it
 * as `content-digest: sha-256=:<base64>:`. The backend computes the digest of the bytes it received
 * before using them; a mismatch is refused (`digest_mismatch`, 400), a match is confirmed on the answer
 * with `x-coyo-verified-sha256: <hex>`, which is the only way a caller learns that the bytes behind an
 * answer had that digest. Other algorithms in the field are ignored, as the RFC allows.
 */

/** Lower-case hex of a SHA-256 digest. */
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

/** What a `Content-Digest` field says about SHA-256. */
export type ContentDigest =
  /** A well-formed field with a `sha-256` member of 32 bytes: its lower-case hex. */
  | { kind: 'sha-256'; hex: string }
  /** A well-formed field without a `sha-256` member (only algorithms this protocol does not use). */
  | { kind: 'other' }
  /** Not a dictionary of `algorithm=:base64:` members, or a `sha-256` member that is not 32 bytes. */
  | { kind: 'invalid'; reason: string };

const MEMBER = /^([a-z*][a-z0-9_.*-]*)=:([A-Za-z0-9+/]*={0,2}):(?:;.*)?$/;

/**
 * Parses a `Content-Digest` (or `Repr-Digest`) field value: a structured-field dictionary whose members
 * are byte sequences, e.g. `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, sha-512=:…:`.
 */
export function parseContentDigest(value: string): ContentDigest {
  let hex: string | undefined;
  const members = value.split(',');
  if (value.length > 1024) return { kind: 'invalid', reason: 'the field is longer than 1,024 characters' };
  for (const raw of members) {
    const member = raw.trim();
    const match = MEMBER.exec(member);
    if (!match) return { kind: 'invalid', reason: `"${member.slice(0, 80)}" is not algorithm=:base64:` };
    const [, algorithm, b64] = match as unknown as [string, string, string];
    if (algorithm !== 'sha-256') continue;
    if (hex !== undefined) return { kind: 'invalid', reason: 'sha-256 is given twice' };
    let bytes: string;
    try {
      bytes = atob(b64);
    } catch {
      return { kind: 'invalid', reason: 'the sha-256 value is not base64' };
    }
    if (bytes.length !== 32) return { kind: 'invalid', reason: `the sha-256 value is ${bytes.length} bytes, not 32` };
    let out = '';
    for (let i = 0; i < bytes.length; i++) out += bytes.charCodeAt(i).toString(16).padStart(2, '0');
    hex = out;
  }
  return hex === undefined ? { kind: 'other' } : { kind: 'sha-256', hex };
}

/** The `Content-Digest` field value for a SHA-256 digest given in hex. */
export function formatContentDigest(hex: string): string {
  if (!SHA256_HEX_PATTERN.test(hex)) throw new Error(`bug: ${hex} is not a lower-case hex SHA-256 digest`);
  let bytes = '';
  for (let i = 0; i < 64; i += 2) bytes += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return `sha-256=:${btoa(bytes)}:`;
}
