/**
 * The provenance indexes of a version (by URL, by domain, by pHash), declared once for their writer
 * (the ingest) and their reader (the edge): the URL and host normalisation both sides apply, the key
 * each index sorts by, the pHash substrings of multi-index hashing, and the binary layout of a table.
 *
 * A table is one object: `entries` fixed-size little-endian records sorted by (key, id), then a
 * directory with the (key, id) of the first record of every block of `block_entries` records. A reader
 * keeps the directory and finds the blocks that can hold a key range with a binary search, then reads
 * them with one range read.
 */
import { z } from 'zod';

/** The WHATWG URL every runtime this runs in has (Workers, Node, browsers); this package's lib is ES only. */
interface WhatwgUrl {
  protocol: string;
  username: string;
  password: string;
  hostname: string;
  readonly host: string;
  readonly port: string;
  readonly pathname: string;
  readonly search: string;
  hash: string;
  readonly href: string;
}
const WebUrl = (globalThis as unknown as { URL: new (input: string) => WhatwgUrl }).URL;

/** Bits of an unsigned 64-bit key. */
const U64 = (1n << 64n) - 1n;

/** Layout of the index tables; a reader ignores indexes of a format it does not know. */
export const INDEX_FORMAT_VERSION = 1;

/** Bytes of a record holding a key and an id. */
export const KEY_ID_ENTRY_BYTES = 16;
/** Bytes of a record holding a key, an id and the number of records with that key (the by-domain table). */
export const KEY_ID_COUNT_ENTRY_BYTES = 24;
/** Bytes of a directory record: the key and id of a block's first record. */
export const DIRECTORY_ENTRY_BYTES = 16;

/**
 * The pHash substrings of multi-index hashing: 64 bits cut into 9 contiguous substrings (one of 8 bits,
 * eight of 7), counted from the most significant bit. Two hashes within Hamming distance k ≤ 8 differ
 * in at most k substrings, so they agree exactly on at least 9 − k of them: probing any k + 1 of the
 * tables finds every hash within distance k (pigeonhole).
 */
export const PHASH_SUBSTRINGS: readonly { readonly start: number; readonly bits: number }[] = (() => {
  const out: { start: number; bits: number }[] = [];
  let start = 0;
  for (let t = 0; t < 9; t++) {
    const bits = t === 0 ? 8 : 7;
    out.push({ start, bits });
    start += bits;
  }
  return out;
})();

/** Largest `max_distance` the pHash index answers exactly. */
export const MAX_PHASH_DISTANCE = PHASH_SUBSTRINGS.length - 1;

/** A pHash as the dataset stores it: 16 hex digits (either case). */
export const PHASH_PATTERN = /^[0-9a-fA-F]{16}$/;

/** The 64-bit value of a 16-hex-digit pHash, or null when the text is not one. */
export function parsePhash(text: string | null | undefined): bigint | null {
  if (typeof text !== 'string' || !PHASH_PATTERN.test(text)) return null;
  return BigInt(`0x${text}`);
}

/** A 64-bit pHash as 16 lower-case hex digits. */
export function phashHex(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

/** Hamming distance of two 64-bit values. */
export function hammingDistance(a: bigint, b: bigint): number {
  let x = (a ^ b) & U64;
  let n = 0;
  while (x !== 0n) {
    x &= x - 1n;
    n++;
  }
  return n;
}

/** `value` rotated left by `bits` within 64 bits. */
function rotl64(value: bigint, bits: number): bigint {
  if (bits === 0) return value & U64;
  const b = BigInt(bits);
  return ((value << b) | (value >> (64n - b))) & U64;
}

/** The sort key of a pHash in table `t`: rotated so that substring `t` takes the top bits. */
export function phashTableKey(phash: bigint, t: number): bigint {
  const sub = PHASH_SUBSTRINGS[t];
  if (sub === undefined) throw new Error(`bug: no pHash substring ${t}`);
  return rotl64(phash, sub.start);
}

/** The pHash a key of table `t` was made from. */
export function phashFromTableKey(key: bigint, t: number): bigint {
  const sub = PHASH_SUBSTRINGS[t];
  if (sub === undefined) throw new Error(`bug: no pHash substring ${t}`);
  return rotl64(key, (64 - sub.start) % 64);
}

/**
 * The inclusive key range of table `t` whose first `run` substrings (t, t + 1, … cyclically) equal
 * those of `phash`: the rotation puts them in the key's top bits, one after the other.
 */
export function phashBucket(phash: bigint, t: number, run = 1): { lo: bigint; hi: bigint } {
  if (!Number.isInteger(run) || run < 1 || run > PHASH_SUBSTRINGS.length) throw new Error(`bug: a run of ${run} substrings`);
  let bits = 0;
  for (let i = 0; i < run; i++) bits += PHASH_SUBSTRINGS[(t + i) % PHASH_SUBSTRINGS.length]?.bits ?? 0;
  const low = BigInt(64 - bits);
  const top = phashTableKey(phash, t) >> low;
  return { lo: top << low, hi: ((top + 1n) << low) - 1n };
}

/** One range read of a pHash search: a table and the key range to read in it. */
export interface PhashProbe {
  readonly table: number;
  readonly lo: bigint;
  readonly hi: bigint;
}

/**
 * The probes that find every hash within Hamming distance `k` (0..8) of `phash`. The 9 substrings form
 * a cycle; k differing bits leave at most k substrings differing, so some run of r consecutive
 * substrings agrees exactly as long as 9 > k·r (fewer than r agreeing in each of the k gaps would make
 * at most k·(r − 1) agree, with 9 − k agreeing). The longest such run gives the narrowest buckets:
 * - k = 0: all 64 bits, one probe of table 0 (its key is the hash itself);
 * - k = 1, 2, 3–4: runs of 8, 4 and 2 substrings (56–57, 28–29, 14–15 bits), one probe in each of the 9 tables;
 * - k = 5–8: runs of 1 (7–8 bits), where plain pigeonhole needs only k + 1 of the tables.
 */
export function phashProbes(phash: bigint, k: number): PhashProbe[] {
  const m = PHASH_SUBSTRINGS.length;
  if (!Number.isInteger(k) || k < 0 || k > m - 1) throw new Error(`bug: max distance ${k}`);
  if (k === 0) return [{ table: 0, lo: phash, hi: phash }];
  const run = Math.floor((m - 1) / k);
  const tables = run === 1 ? k + 1 : m;
  return Array.from({ length: tables }, (_, t) => ({ table: t, ...phashBucket(phash, t, run) }));
}

/** UTF-8 bytes of a string (a lone surrogate as U+FFFD, as TextEncoder does). */
function utf8(text: string): number[] {
  const out: number[] = [];
  for (const char of text) {
    let c = char.codePointAt(0) ?? 0xfffd;
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return out;
}

/**
 * A 64-bit hash of a string's UTF-8 bytes (two 32-bit multiply-xorshift lanes, as cyrb53 mixes
 * them). Stable across runtimes; not cryptographic. The by-URL look-up compares the stored URL too,
 * so a collision costs a read, never a wrong row.
 */
export function hash64(text: string): bigint {
  const bytes = utf8(text);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (const byte of bytes) {
    h1 = Math.imul(h1 ^ byte, 2654435761);
    h2 = Math.imul(h2 ^ byte, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (BigInt(h1 >>> 0) << 32n) | BigInt(h2 >>> 0);
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Upper-cases the hex of every percent escape and decodes those that stand for unreserved characters. */
function normalizePercent(part: string): string {
  return part.replace(/%([0-9a-fA-F]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * The form of a URL the by-URL index keys on, so that spellings of the same address find each other:
 * - surrounding whitespace is trimmed;
 * - scheme and host are lower-cased, an internationalised host becomes punycode, a trailing dot of the
 *   host is dropped, and the scheme's default port (80 for http, 443 for https) is dropped;
 * - an empty path becomes `/`, and `.`/`..` segments are resolved (WHATWG URL parsing);
 * - the fragment is dropped, and so is an empty query (`?` alone);
 * - percent escapes are normalised: hex upper-cased, escapes of unreserved characters
 *   (letters, digits, `-._~`) decoded, characters that must be escaped escaped;
 * - the query keeps its order and `+` stays `+`; the path keeps its case; `www.` is not removed.
 * A string that does not parse as an absolute URL is used as given (trimmed), so it still matches itself.
 */
export function normalizeUrl(input: string): string {
  const text = input.trim();
  let url: WhatwgUrl;
  try {
    url = new WebUrl(text);
  } catch {
    return text;
  }
  url.hash = '';
  if (url.hostname.endsWith('.') && url.hostname.length > 1) url.hostname = url.hostname.slice(0, -1);
  const auth = url.username !== '' || url.password !== '' ? `${url.username}${url.password !== '' ? `:${url.password}` : ''}@` : '';
  const host = url.host;
  const special = url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'ftp:' || url.protocol === 'ws:' || url.protocol === 'wss:';
  const path = normalizePercent(url.pathname);
  const query = url.search === '?' ? '' : normalizePercent(url.search);
  if (!special && host === '') return `${url.protocol}${normalizePercent(url.pathname)}${query}`;
  return `${url.protocol}//${normalizePercent(auth)}${host}${path}${query}`;
}

/**
 * The host the by-domain index keys on: the hostname of the normalised URL (lower-case, punycode, no
 * trailing dot, no port), or null when the URL has none.
 */
export function urlHost(input: string): string | null {
  try {
    const host = new WebUrl(input.trim()).hostname;
    const trimmed = host.endsWith('.') ? host.slice(0, -1) : host;
    return trimmed === '' ? null : trimmed;
  } catch {
    return null;
  }
}

/**
 * A domain as a client writes it (`Example.COM`, `bücher.de`, `example.com.`), in the form
 * {@link urlHost} gives; null when it is not a bare host (a scheme, path, port or user is refused).
 */
export function normalizeDomain(input: string): string | null {
  const text = input.trim();
  if (text === '' || /[/?#@\s\\]/.test(text) || (text.includes(':') && !text.startsWith('['))) return null;
  let url: WhatwgUrl;
  try {
    url = new WebUrl(`http://${text}/`);
  } catch {
    return null;
  }
  if (url.port !== '' || url.pathname !== '/' || url.username !== '' || url.password !== '') return null;
  return urlHost(url.href);
}

/** The by-URL key of a URL. */
export function urlKey(url: string): bigint {
  return hash64(normalizeUrl(url));
}

/** The by-domain key of a host (already normalised). */
export function domainKey(host: string): bigint {
  return hash64(host);
}

/** One table object of an index. */
export const IndexTableSchema = z.object({
  key: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Records in the table. */
  entries: z.number().int().nonnegative(),
  entry_bytes: z.union([z.literal(KEY_ID_ENTRY_BYTES), z.literal(KEY_ID_COUNT_ENTRY_BYTES)]),
  /** Records per directory block: a look-up reads whole blocks. */
  block_entries: z.number().int().positive(),
  /** Where the directory starts (= entries × entry_bytes); it runs to the end of the object. */
  directory_offset: z.number().int().nonnegative(),
});
export type IndexTable = z.infer<typeof IndexTableSchema>;

/** The manifest's `indexes`: where a version's provenance tables are. */
export const IndexesSchema = z
  .object({
    format_version: z.literal(INDEX_FORMAT_VERSION),
    /** Normalised URL hash → id; rows whose URL is NULL are not in it. */
    by_url: IndexTableSchema,
    /** Host hash → id, with the host's row count in every record; rows without a host are not in it. */
    by_domain: IndexTableSchema,
    /** One table per {@link PHASH_SUBSTRINGS} entry, keyed by the pHash rotated to put that substring first. */
    by_phash: z.array(IndexTableSchema).length(PHASH_SUBSTRINGS.length),
  })
  .superRefine((indexes, ctx) => {
    const tables = [indexes.by_url, indexes.by_domain, ...indexes.by_phash];
    for (const [i, table] of tables.entries()) {
      const blocks = Math.ceil(table.entries / table.block_entries);
      if (table.directory_offset !== table.entries * table.entry_bytes || table.bytes !== table.directory_offset + blocks * DIRECTORY_ENTRY_BYTES) {
        ctx.addIssue({ code: 'custom', path: [i], message: `table ${table.key}: sizes do not add up` });
      }
    }
    if (indexes.by_domain.entry_bytes !== KEY_ID_COUNT_ENTRY_BYTES)
      ctx.addIssue({ code: 'custom', path: ['by_domain', 'entry_bytes'], message: `must be ${KEY_ID_COUNT_ENTRY_BYTES}` });
  });
export type Indexes = z.infer<typeof IndexesSchema>;

/** Key of a version's index table object. */
export function indexTableKey(version: string, name: string): string {
  return `v/${version}/index/${name}.bin`;
}
