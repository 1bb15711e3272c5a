/**
 * A `multipart/form-data` reader (RFC 7578, RFC 2046 §5.1) over a body already in memory. The runtime's
 * `Request.formData()` copies the body into its parser and every file part into a `File` of its own,
 * which a caller then copies out again; here a file part is a view into the one buffer the body was read
 * into, found with a Boyer–Moore–Horspool scan for the delimiter, so a 3 MB image costs no copy.
 */

/** One part that carried a `filename`: its bytes are a view into the body, not a copy. */
export interface FilePart {
  filename: string;
  /** The part's `Content-Type`, or empty when it named none. */
  type: string;
  bytes: Uint8Array<ArrayBuffer>;
}

/** The parts of a form in body order: text fields as strings, file parts as {@link FilePart}s. */
export type FormEntry = [name: string, value: string | FilePart];

/** Why a body is not a well-formed multipart form. */
export class MultipartError extends Error {
  override readonly name = 'MultipartError';
}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
/** The most bytes one part's header block may take. */
const MAX_HEADER_BYTES = 16 * 1024;

const ascii = new TextEncoder();
const utf8 = new TextDecoder();

/** The boundary of a `multipart/form-data` media type, or null when it names none (RFC 2046: 1–70 characters). */
export function multipartBoundary(contentType: string): string | null {
  const match = /;\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.){1,70})"|([^\s;"]{1,70}))\s*(?:;|$)/i.exec(contentType);
  if (match === null) return null;
  return match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? null);
}

/** Index of `needle` in `hay` at or after `from`, or -1 (Boyer–Moore–Horspool). */
export function indexOfBytes(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const n = needle.length;
  const last = n - 1;
  if (n === 0) return from <= hay.length ? from : -1;
  const skip = new Int32Array(256).fill(n);
  for (let i = 0; i < last; i++) skip[needle[i] as number] = last - i;
  const tail = needle[last] as number;
  for (let pos = from; pos + last < hay.length; ) {
    const b = hay[pos + last] as number;
    if (b === tail) {
      let j = last - 1;
      while (j >= 0 && hay[pos + j] === needle[j]) j--;
      if (j < 0) return pos;
    }
    pos += skip[b] as number;
  }
  return -1;
}

/** The value of a header parameter, quoted (with backslash escapes) or a token; undefined when absent. */
function headerParam(value: string, name: string): string | undefined {
  const re = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]*))/g;
  for (let m = re.exec(value); m !== null; m = re.exec(value)) {
    if (m[1]?.toLowerCase() === name) return m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return undefined;
}

/** Parses one part's header block into lower-cased names and values. */
function partHeaders(block: Uint8Array): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of utf8.decode(block).split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new MultipartError(`a part header line has no name: ${JSON.stringify(line.slice(0, 80))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/**
 * Splits `body` (the whole request body) into its form entries. Throws a {@link MultipartError} for a
 * body that does not start with the boundary's delimiter (after an optional preamble), has no closing
 * delimiter, or has a part without a `Content-Disposition: form-data` name.
 */
export function parseMultipart(body: Uint8Array<ArrayBuffer>, boundary: string): FormEntry[] {
  const dash = ascii.encode(`--${boundary}`);
  const delimiter = ascii.encode(`\r\n--${boundary}`);
  // The first delimiter opens the body or follows a preamble and its CRLF.
  let at: number;
  if (startsWith(body, dash, 0)) at = dash.length;
  else {
    const found = indexOfBytes(body, delimiter, 0);
    if (found < 0) throw new MultipartError('the body does not contain its boundary');
    at = found + delimiter.length;
  }
  const entries: FormEntry[] = [];
  for (;;) {
    if (body[at] === DASH && body[at + 1] === DASH) return entries;
    // Transport padding (spaces, tabs) may follow a delimiter before its CRLF.
    while (body[at] === 0x20 || body[at] === 0x09) at++;
    if (body[at] !== CR || body[at + 1] !== LF) throw new MultipartError('a boundary delimiter is not followed by CRLF');
    at += 2;
    const headerEnd = indexOfBytes(body.subarray(at, Math.min(body.length, at + MAX_HEADER_BYTES + 4)), HEADER_END, 0);
    const blankFirst = body[at] === CR && body[at + 1] === LF;
    if (headerEnd < 0 && !blankFirst) throw new MultipartError(`a part's headers do not end within ${MAX_HEADER_BYTES} bytes`);
    const headers = blankFirst ? new Map<string, string>() : partHeaders(body.subarray(at, at + headerEnd));
    const contentStart = blankFirst ? at + 2 : at + headerEnd + 4;
    const next = indexOfBytes(body, delimiter, contentStart);
    if (next < 0) throw new MultipartError('the body ends without its closing boundary');
    const disposition = headers.get('content-disposition') ?? '';
    const name = headerParam(disposition, 'name');
    if (!/^form-data\s*(;|$)/i.test(disposition) || name === undefined) {
      throw new MultipartError('a part has no Content-Disposition: form-data with a name');
    }
    const content = body.subarray(contentStart, next);
    const filename = headerParam(disposition, 'filename');
    entries.push([name, filename === undefined ? utf8.decode(content) : { filename, type: headers.get('content-type') ?? '', bytes: content }]);
    at = next + delimiter.length;
  }
}

const HEADER_END = new Uint8Array([CR, LF, CR, LF]);

function startsWith(hay: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (hay.length - at < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (hay[at + i] !== prefix[i]) return false;
  return true;
}
