import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestError } from '../errors.js';
import { s3OptionsFromEnv, s3Store } from './s3.js';
import { createHash } from 'node:crypto';
import { defined } from '@coyo/coyo-reader/testing';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

/** A minimal S3 endpoint: PUT stores body and x-amz-meta-*, HEAD/GET answer from it. */
async function fakeS3(failFirst = 0) {
  const objects = new Map<string, { body: Buffer; sha: string | undefined }>();
  const seen: Seen[] = [];
  let failures = failFirst;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      if (failures > 0) {
        failures -= 1;
        res.writeHead(503).end('slow down');
        return;
      }
      const key = req.url ?? '';
      if (req.method === 'PUT') {
        const body = Buffer.concat(chunks);
        if (createHash('sha256').update(body).digest('hex') !== req.headers['x-amz-content-sha256']) {
          res.writeHead(400).end('XAmzContentSHA256Mismatch');
          return;
        }
        objects.set(key, { body, sha: req.headers['x-amz-meta-sha256'] as string | undefined });
        res.writeHead(200).end();
        return;
      }
      const o = objects.get(key);
      if (!o) {
        res.writeHead(404).end();
        return;
      }
      const headers: Record<string, string> = { 'content-length': String(o.body.byteLength) };
      if (o.sha) headers['x-amz-meta-sha256'] = o.sha;
      res.writeHead(200, headers);
      res.end(req.method === 'HEAD' ? undefined : o.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => {
    r();
  }));
  servers.push(server);
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, objects };
}

const servers: ReturnType<typeof createServer>[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const credentials = { accessKeyId: 'AKID', secretAccessKey: 'secret' };

describe('s3Store', () => {
  it('puts an object with its checksum and reads the checksum back on HEAD', async () => {
    const s3 = await fakeS3();
    const store = s3Store({ endpoint: s3.endpoint, bucket: 'coyo-metadata', credentials });
    const body = new TextEncoder().encode('parquet bytes');
    const sha = createHash('sha256').update(body).digest('hex');
    expect(await store.head('v/1/shard-00000.parquet')).toBeNull();
    await store.put('v/1/shard-00000.parquet', body, { sha256: sha, contentType: 'application/vnd.apache.parquet' });
    expect(await store.head('v/1/shard-00000.parquet')).toEqual({ size: body.byteLength, sha256: sha });
    expect(await store.get('v/1/shard-00000.parquet')).toEqual(new Uint8Array(body));
    const put = defined(s3.seen.find((s) => s.method === 'PUT'));
    expect(put.url).toBe('/coyo-metadata/v/1/shard-00000.parquet');
    expect(put.headers['authorization']).toMatch(/^AWS4-HMAC-SHA256 Credential=AKID\/\d{8}\/auto\/s3\/aws4_request,SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-meta-sha256,Signature=[0-9a-f]{64}$/);
  });

  it('retries on 5xx answers', async () => {
    const s3 = await fakeS3(2);
    const store = s3Store({ endpoint: s3.endpoint, bucket: 'b', credentials, attempts: 3 });
    expect(await store.head('k')).toBeNull();
    expect(s3.seen).toHaveLength(3);
  });

  it('gives up with a storage error after the last attempt', async () => {
    const s3 = await fakeS3(5);
    const store = s3Store({ endpoint: s3.endpoint, bucket: 'b', credentials, attempts: 2 });
    const error = await store.head('k').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    expect((error as IngestError).exitCode).toBe(3);
  });
});

describe('s3OptionsFromEnv', () => {
  it('builds the R2 endpoint from the account id', () => {
    const options = s3OptionsFromEnv({ R2_ACCOUNT_ID: 'acc', R2_ACCESS_KEY_ID: 'a', R2_SECRET_ACCESS_KEY: 's', R2_BUCKET: 'b' });
    expect(options.endpoint).toBe('https://acc.r2.cloudflarestorage.com');
    expect(options.bucket).toBe('b');
  });

  it('names the missing variable', () => {
    expect(() => s3OptionsFromEnv({ R2_ACCOUNT_ID: 'acc', R2_ACCESS_KEY_ID: 'a', R2_BUCKET: 'b' })).toThrow(/R2_SECRET_ACCESS_KEY/);
  });
});
