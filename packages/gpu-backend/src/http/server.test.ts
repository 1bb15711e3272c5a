/**
 * The app served by Node's HTTP server, as in production: bodies are read from the Node request itself
 * (not through `Request.body`), so limits, JSON answers and binary answers are checked over a real socket.
 */
import { request as httpRequest } from 'node:http';
import {
  BINARY_HEADERS,
  EMBEDDINGS_BINARY_CONTENT_TYPE,
  EmbedImageAnswerSchema,
  EmbedTextAnswerSchema,
  decodeBinaryEmbeddings,
  decodeVectors,
} from '@coyo/backend-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeBackend } from '../backend/fake.js';
import { Engine } from '../batching/engine.js';
import { BackendMetrics } from '../metrics/metrics.js';
import { createServer, type RunningServer } from './server.js';
import { ServerStatus } from './status.js';
import { TEST_LIMITS } from '../../test/http-limits.js';

const TOKEN = 'server-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let server: RunningServer;

beforeAll(async () => {
  const backend = new FakeBackend({ testModels: true });
  const metrics = new BackendMetrics({ maxBatchSize: 4 });
  const status = new ServerStatus(backend.models);
  status.markReady(new Engine({ backend, batching: { maxBatchSize: 4, maxQueueDelayMs: 1, maxQueue: 16 }, metrics }));
  server = await createServer({ host: '127.0.0.1', port: 0 }, { config: { token: TOKEN, limits: TEST_LIMITS }, status, metrics });
});

afterAll(async () => {
  await server.close();
});

function png(size: number): Uint8Array {
  const bytes = new Uint8Array(size).fill(7);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return bytes;
}

const texts = (body: unknown, accept?: string) =>
  fetch(`${server.url}/v1/embed/text`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json', ...(accept !== undefined ? { accept } : {}) },
    body: JSON.stringify(body),
  });

describe('bodies read from the Node request', () => {
  it('answers texts with the JSON JSON.stringify would write, parsed by the protocol schema', async () => {
    const response = await texts({ texts: ['a photo of a cat', 'a dog'] });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('vary')).toBe('accept');
    const text = await response.text();
    const answer = EmbedTextAnswerSchema.parse(JSON.parse(text));
    expect(text).toBe(JSON.stringify(answer));
    expect(answer.embeddings).toHaveLength(2);
    expect(answer.tokens).toHaveLength(2);
  });

  it('answers binary float32 rows, equal to the JSON answer, when Accept asks for them', async () => {
    const json = EmbedTextAnswerSchema.parse(await (await texts({ texts: ['one', 'two words'] })).json());
    const response = await texts({ texts: ['one', 'two words'] }, EMBEDDINGS_BINARY_CONTENT_TYPE);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(EMBEDDINGS_BINARY_CONTENT_TYPE);
    const binary = decodeBinaryEmbeddings(await response.arrayBuffer(), response.headers);
    expect(binary).toMatchObject({ model: json.model, revision: json.revision, dim: json.dim, tokens: json.tokens });
    expect(binary.embeddings.map((e) => Array.from(e))).toEqual(decodeVectors(json.embeddings, 2, json.dim).map((e) => Array.from(e)));
  });

  it('answers images as binary too, and as JSON by default', async () => {
    const send = (accept?: string) =>
      fetch(`${server.url}/v1/embed/image`, {
        method: 'POST',
        headers: { ...AUTH, 'content-type': 'image/png', ...(accept !== undefined ? { accept } : {}) },
        body: png(200),
      });
    const json = EmbedImageAnswerSchema.parse(await (await send()).json());
    const response = await send(`${EMBEDDINGS_BINARY_CONTENT_TYPE}, application/json;q=0.1`);
    expect(response.headers.get(BINARY_HEADERS.tokens)).toBeNull();
    const binary = decodeBinaryEmbeddings(await response.arrayBuffer(), response.headers);
    expect(binary.embeddings.map((e) => Array.from(e))).toEqual(decodeVectors(json.embeddings, 1, json.dim).map((e) => Array.from(e)));
  });

  it('answers 413 when a chunked body without Content-Length grows past the limit', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${server.url}/v1/embed/image`, { method: 'POST', headers: { ...AUTH, 'content-type': 'image/png' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: text }); });
      });
      req.on('error', reject);
      req.write(png(600));
      req.end(png(600));
    });
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ type: 'payload_too_large' });
  });

  it('refuses a text body that is not JSON', async () => {
    const response = await fetch(`${server.url}/v1/embed/text`, { method: 'POST', headers: { ...AUTH, 'content-type': 'application/json' }, body: '{nope' });
    expect(response.status).toBe(400);
  });
});
