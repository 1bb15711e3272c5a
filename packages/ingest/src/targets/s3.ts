/**
 * Real R2 through its S3-compatible API, signed with SigV4. Credentials come from the environment:
 * R2_ACCOUNT_ID, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY and R2_BUCKET (R2_ENDPOINT overrides the
 * endpoint, e.g. for an S3-compatible test server).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { IngestError } from '../errors.js';
import { EMPTY_SHA256, signRequest, type SigV4Credentials } from '../sigv4.js';
import type { ObjectStore, PutOptions, StoredObject } from './types.js';

const R2EnvSchema = z.object({
  R2_ACCOUNT_ID: z.string().min(1).optional(),
  R2_ACCESS_KEY_ID: z.string().min(1, 'R2_ACCESS_KEY_ID is required'),
  R2_SECRET_ACCESS_KEY: z.string().min(1, 'R2_SECRET_ACCESS_KEY is required'),
  R2_BUCKET: z.string().min(1, 'R2_BUCKET is required'),
  R2_ENDPOINT: z.url().optional(),
});

export interface S3StoreOptions {
  /** e.g. https://<account>.r2.cloudflarestorage.com */
  readonly endpoint: string;
  readonly bucket: string;
  readonly credentials: SigV4Credentials;
  /** "auto" for R2. */
  readonly region?: string;
  readonly fetch?: typeof fetch;
  /** Attempts per request on 5xx, 429 and network errors (default 4). */
  readonly attempts?: number;
}

/** Reads the R2 settings from environment variables, failing with the name of what is missing. */
export function s3OptionsFromEnv(env: NodeJS.ProcessEnv): S3StoreOptions {
  const parsed = R2EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IngestError(`R2 settings: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`);
  }
  const e = parsed.data;
  const endpoint = e.R2_ENDPOINT ?? (e.R2_ACCOUNT_ID ? `https://${e.R2_ACCOUNT_ID}.r2.cloudflarestorage.com` : undefined);
  if (endpoint === undefined) throw new IngestError('R2 settings: set R2_ACCOUNT_ID (or R2_ENDPOINT)');
  return {
    endpoint,
    bucket: e.R2_BUCKET,
    credentials: { accessKeyId: e.R2_ACCESS_KEY_ID, secretAccessKey: e.R2_SECRET_ACCESS_KEY },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An S3-API bucket (path-style URLs, as R2 accepts). */
export function s3Store(options: S3StoreOptions): ObjectStore {
  const doFetch = options.fetch ?? fetch;
  const region = options.region ?? 'auto';
  const attempts = options.attempts ?? 4;
  const urlOf = (key: string): URL =>
    new URL(`${options.endpoint.replace(/\/$/, '')}/${encodeURIComponent(options.bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`);

  async function send(method: string, key: string, body?: Uint8Array, headers: Record<string, string> = {}, payloadSha256 = EMPTY_SHA256): Promise<Response> {
    const url = urlOf(key);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const signed = signRequest({ method, url, headers, payloadSha256, credentials: options.credentials, region });
      try {
        const init: RequestInit = { method, headers: signed };
        if (body !== undefined) init.body = body;
        const response = await doFetch(url, init);
        if (response.status < 500 && response.status !== 429) return response;
        lastError = new Error(`${method} ${key}: HTTP ${response.status} ${await response.text()}`);
      } catch (err) {
        lastError = err;
      }
      if (attempt < attempts) await sleep(Math.min(8000, 500 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2));
    }
    throw new IngestError(`R2 request failed after ${attempts} attempts: ${(lastError as Error).message}`, 3);
  }

  async function expectOk(response: Response, what: string): Promise<void> {
    if (!response.ok) throw new IngestError(`${what}: HTTP ${response.status} ${await response.text()}`, 3);
  }

  return {
    description: `R2 bucket ${options.bucket} (${options.endpoint})`,
    async head(key: string): Promise<StoredObject | null> {
      const response = await send('HEAD', key);
      if (response.status === 404) return null;
      await expectOk(response, `HEAD ${key}`);
      return {
        size: Number(response.headers.get('content-length') ?? '-1'),
        sha256: response.headers.get('x-amz-meta-sha256') ?? undefined,
      };
    },
    async get(key: string): Promise<Uint8Array | null> {
      const response = await send('GET', key);
      if (response.status === 404) return null;
      await expectOk(response, `GET ${key}`);
      return new Uint8Array(await response.arrayBuffer());
    },
    async put(key: string, body: Uint8Array, put: PutOptions): Promise<void> {
      const sha = createHash('sha256').update(body).digest('hex');
      if (sha !== put.sha256) throw new Error(`bug: the body of ${key} does not match its checksum`);
      const response = await send(
        'PUT',
        key,
        body,
        { 'content-type': put.contentType, 'x-amz-meta-sha256': put.sha256 },
        sha,
      );
      await expectOk(response, `PUT ${key}`);
    },
    async close(): Promise<void> {},
  };
}
