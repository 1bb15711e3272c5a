/**
 * AWS Signature Version 4 for the few S3 calls the ingest makes against R2 (PUT, HEAD, GET), written
 * with node:crypto rather than pulling in an SDK.
 */
import { createHash, createHmac } from 'node:crypto';

export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface SignOptions {
  readonly method: string;
  readonly url: URL;
  /** Headers to sign besides host, x-amz-date and x-amz-content-sha256 (names in any case). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Hex sha256 of the body (of "" when there is none). */
  readonly payloadSha256: string;
  readonly credentials: SigV4Credentials;
  /** "auto" for R2. */
  readonly region: string;
  readonly service?: string;
  readonly now?: Date;
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 encoding as S3 wants it: unreserved characters stay, everything else is %XX. */
function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonical URI: each path segment encoded once (S3 does not double-encode). */
function canonicalPath(url: URL): string {
  return url.pathname
    .split('/')
    .map((segment) => encodeRfc3986(decodeURIComponent(segment)))
    .join('/');
}

function canonicalQuery(url: URL): string {
  return [...url.searchParams.entries()]
    .map(([k, v]) => [encodeRfc3986(k), encodeRfc3986(v)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** `20130524T000000Z` */
export function amzDate(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

/**
 * Returns the headers to send: the caller's, plus host, x-amz-date, x-amz-content-sha256 and
 * Authorization.
 */
export function signRequest(options: SignOptions): Record<string, string> {
  const service = options.service ?? 's3';
  const date = amzDate(options.now ?? new Date());
  const day = date.slice(0, 8);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value.trim().replace(/\s+/g, ' ');
  headers['host'] = options.url.host;
  headers['x-amz-date'] = date;
  headers['x-amz-content-sha256'] = options.payloadSha256;
  const names = Object.keys(headers).sort();
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    options.method.toUpperCase(),
    canonicalPath(options.url),
    canonicalQuery(options.url),
    names.map((n) => `${n}:${headers[n]}\n`).join(''),
    signedHeaders,
    options.payloadSha256,
  ].join('\n');
  const scope = `${day}/${options.region}/${service}/aws4_request`;
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    date,
    scope,
    createHash('sha256').update(canonicalRequest, 'utf8').digest('hex'),
  ].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${options.credentials.secretAccessKey}`, day), options.region), service), 'aws4_request');
  const signature = createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
  const out: Record<string, string> = { ...headers };
  delete out['host'];
  out['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${options.credentials.accessKeyId}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;
  return out;
}
