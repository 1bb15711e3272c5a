/**
 * Every SDK method against the real local stack (GPU backend process + worker in workerd + local R2
 * holding a small ingested COYO sample): each input form reaches the edge in the form it documents
 * and gives the same answer, pagination walks the whole dataset, and failures are typed SDK errors.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  APIUserAbortError,
  AuthenticationError,
  BadRequestError,
  Coyo,
  CoyoInputError,
  NotFoundError,
  type CoyoRow,
  type LabelScore,
} from '@coyo/sdk';
import { fileFromPath } from '@coyo/sdk/node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliOk } from '../coyo/cli.ts';
import { REPO_ROOT, startStack, type Stack } from '../harness/stack.ts';

const ROWS = 600;
let temp: string;
let stack: Stack | undefined;
let coyo: Coyo;
let rows: CoyoRow[];
let png: Buffer;
let png2: Buffer;

const labels = ['cat', 'dog', 'a bird, flying'];
const byLabel = (scores: LabelScore[]) => Object.fromEntries(scores.map((s) => [s.label, s.score]));

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'coyo-sdk-e2e-'));
  const persist = join(temp, 'state');
  await runCliOk(['sample', '--rows', String(ROWS), '--seed', '7', '--files', '1', '--out', join(temp, 'sample')]);
  await runCliOk([
    'ingest', join(temp, 'sample'), '--target', 'local', '--config', join(REPO_ROOT, 'wrangler.toml'), '--persist', join(persist, 'v3'),
    '--work-dir', join(temp, 'work'), '--row-group-size', '128', '--shard-rows', '256', '--progress', 'none',
  ]);
  const { stdout } = await runCliOk(['dump', join(temp, 'sample')]);
  rows = stdout.trim().split('\n').map((line) => JSON.parse(line) as CoyoRow);
  stack = await startStack({ persistDir: persist });
  coyo = new Coyo({ baseURL: stack.workerUrl, apiKey: stack.apiKey });
  png = await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 200, g: 90, b: 40 } } }).png().toBuffer();
  png2 = await sharp({ create: { width: 32, height: 48, channels: 3, background: { r: 20, g: 90, b: 240 } } }).png().toBuffer();
});

afterAll(async () => {
  await stack?.stop();
  if (temp) await rm(temp, { recursive: true, force: true });
});

describe('inference through the SDK', () => {
  it('scores one image the same sent as bytes, Blob, stream, file, base64 and data: URL', async () => {
    const reference = byLabel(await coyo.zeroShot({ image: { base64: png.toString('base64') }, labels }));
    const file = join(temp, 'one.png');
    await sharp(png).toFile(file);
    const forms = [
      png,
      new Blob([new Uint8Array(png)], { type: 'image/png' }),
      Readable.from([png.subarray(0, 10), png.subarray(10)]),
      await fileFromPath(file),
      `data:image/png;base64,${png.toString('base64')}`,
    ];
    for (const image of forms) {
      const scores = await coyo.zeroShot({ image, labels });
      expect(scores.map((s) => s.label).sort()).toEqual([...labels].sort());
      for (const [label, score] of Object.entries(byLabel(scores))) expect(score).toBeCloseTo(reference[label] ?? NaN, 9);
    }
  });

  it('answers several images (multipart) with one list per image, in order', async () => {
    const [a, b] = await coyo.zeroShot({ images: [png, png2], labels });
    const onlyB = await coyo.zeroShot({ image: png2, labels });
    expect(a).toHaveLength(3);
    expect(byLabel(b ?? [])).toEqual(byLabel(onlyB));
    const classes = await coyo.classify({ images: [new Blob([new Uint8Array(png)], { type: 'image/png' }), png2], top_k: 2 });
    expect(classes.map((list) => list.length)).toEqual([2, 2]);
  });

  it('classifies, embeds, compares and lists models', async () => {
    const top3 = await coyo.classify({ image: png, top_k: 3 });
    expect(top3).toHaveLength(3);
    expect(must(top3[0]).score).toBeGreaterThanOrEqual(must(top3[1]).score);
    const embeddings = await coyo.embeddings.create({ texts: ['a cat'], images: [png] });
    expect(embeddings.data).toHaveLength(2);
    // The native answer, typed as such: `dim` needs no narrowing (the route also answers OpenAI's shape to OpenAI's clients).
    expect(embeddings.dim).toBe(must(embeddings.data[0]).embedding.length);
    const similarity = await coyo.similarity({ images: [png, png2], texts: ['a cat', 'a dog'] });
    expect(JSON.stringify(similarity)).toMatch(/\d/);
    const models = await coyo.models.list();
    expect(models.data.length).toBeGreaterThan(0);
    expect(models.requestId).toMatch(/\S/);
  });

  it('sends image bytes to embeddings and similarity as multipart, answered as the base64 JSON form', async () => {
    const base64 = [{ base64: png.toString('base64') }, { base64: png2.toString('base64') }];
    const { data: form, response } = await coyo.embeddings.create({ texts: ['a cat'], images: [png, png2], normalize: false }).withResponse();
    expect(response.status).toBe(200);
    const json = await coyo.embeddings.create({ texts: ['a cat'], images: base64, normalize: false });
    expect(form.data).toEqual(json.data);
    expect(form.data.map((d) => d.type)).toEqual(['text', 'image', 'image']);
    const texts = ['a cat', 'a dog'];
    const similarity = await coyo.similarity({ images: [png2, new Blob([new Uint8Array(png)], { type: 'image/png' })], texts });
    const similarityJson = await coyo.similarity({ images: [base64[1] ?? png2, base64[0] ?? png], texts });
    expect(similarity.cosine).toEqual(similarityJson.cosine);
    expect(similarity.logits).toEqual(similarityJson.logits);
  });

  it('sends a lone image of bytes with its Content-Digest: streamed to the backend unread when cold, cached once the backend confirms it', async () => {
    // A picture no other test sends, so the first request is a miss.
    const fresh = await sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 11, g: 222, b: 33 } } }).png().toBuffer();
    const first = await coyo.embeddings.create({ images: [fresh], normalize: false }).withResponse();
    expect(first.response.headers.get('x-cache')).toBe('miss');
    const second = await coyo.embeddings.create({ images: [new Blob([new Uint8Array(fresh)], { type: 'image/png' })], normalize: false }).withResponse();
    expect(second.response.headers.get('x-cache')).toBe('hit');
    const json = await coyo.embeddings.create({ images: [{ base64: fresh.toString('base64') }], normalize: false });
    expect(first.data.data).toEqual(json.data);
    expect(second.data.data).toEqual(json.data);
    const classes = await coyo.classify({ image: fresh, top_k: 2 }).withResponse();
    expect(classes.data).toHaveLength(2);
  });

  it('refuses bytes that do not have the SHA-256 their Content-Digest states, cold or cached', async () => {
    const cold = await sharp({ create: { width: 24, height: 40, channels: 3, background: { r: 1, g: 2, b: 250 } } }).png().toBuffer();
    const claim = `sha-256=:${createHash('sha256').update(png).digest('base64')}:`;
    for (const body of [cold, png]) {
      const res = await fetch(`${stack?.workerUrl ?? ''}/v1/zero-shot?labels=cat,dog`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack?.apiKey ?? ''}`, 'content-type': 'image/png', 'content-digest': body === png ? claim.replace(/[A-Z]/, 'a') : claim },
        body: new Uint8Array(body),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { type: string }).type).toMatch(/\/digest_mismatch$/);
    }
  });

  it('answers a streamed body that is no image with the problem type the edge gives when it reads it (415)', async () => {
    const text = new TextEncoder().encode(`not an image ${String(Date.now())}`);
    const digest = `sha-256=:${createHash('sha256').update(text).digest('base64')}:`;
    const types: string[] = [];
    for (const headers of [{ 'content-digest': digest }, {}]) {
      const res = await fetch(`${stack?.workerUrl ?? ''}/v1/classify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${stack?.apiKey ?? ''}`, 'content-type': 'application/octet-stream', ...headers },
        body: text,
      });
      expect(res.status).toBe(415);
      types.push(((await res.json()) as { type: string }).type);
    }
    expect(types[0]).toBe(types[1]);
  });

  it('gives the request id with the raw response', async () => {
    const { data, response, requestId } = await coyo.zeroShot({ image: png, labels: ['cat', 'dog'] }).withResponse();
    expect(response.status).toBe(200);
    expect(requestId).toBe(response.headers.get('x-request-id'));
    expect(data.requestId).toBe(requestId);
  });
});

describe('COYO metadata through the SDK', () => {
  it('retrieves one row, whole or by columns, and batches with null for absent ids', async () => {
    const first = must(rows[0]);
    expect((await coyo.coyo.retrieve(must(first.id))).row).toEqual(first);
    expect((await coyo.coyo.retrieve(must(first.id), { columns: ['url', 'width'] })).row).toEqual({ url: first.url, width: first.width });
    const absent = 1;
    expect(rows.some((r) => r.id === absent)).toBe(false);
    const batch = await coyo.coyo.batch([must(first.id), absent], { columns: ['id', 'text'] });
    expect(batch.rows).toEqual([{ id: first.id, text: first.text }, null]);
    expect((await coyo.coyo.stats()).rows).toBe(ROWS);
  });

  it('walks every row in id order across pages', async () => {
    const seen: number[] = [];
    for await (const { row_idx, row } of coyo.coyo.rows({ offset: 0, length: 100, columns: ['id'] })) {
      expect(row_idx).toBe(seen.length);
      seen.push(must(row.id));
    }
    expect(seen).toEqual(rows.map((r) => r.id));
  });

  it('iterates every filter match across cursor pages', async () => {
    const expected = rows.filter((r) => (r.width ?? 0) >= 512).map((r) => r.id);
    const ids: number[] = [];
    let pages = 0;
    for await (const page of coyo.coyo.filter({ min_width: 512, limit: 25, columns: ['id'] }).pages()) {
      pages++;
      ids.push(...page.rows.map((r) => must(r.id)));
    }
    expect(ids).toEqual(expected);
    expect(pages).toBeGreaterThan(1);
    const items: number[] = [];
    for await (const row of coyo.coyo.filter({ min_width: 512, limit: 25, columns: ['id'] })) items.push(must(row.id));
    expect(items).toEqual(expected);
  });

  it('exports every filter match as a stream of rows', async () => {
    const expected = rows.filter((r) => (r.width ?? 0) >= 512).map((r) => ({ id: r.id, url: r.url }));
    const got: CoyoRow[] = [];
    for await (const row of coyo.coyo.export({ min_width: 512, columns: ['id', 'url'] })) got.push(row);
    expect(got).toEqual(expected);
    // The SDK followed the cursor over more than one response (each covers a few row groups).
    let parts = 0;
    for await (const part of coyo.coyo.exportParts({ min_width: 512, columns: ['id'] })) {
      parts++;
      await part.body.cancel();
    }
    expect(parts).toBeGreaterThan(1);
  });
});

describe('failures through the SDK', () => {
  it('throws typed errors with request ids', async () => {
    const missing = await coyo.coyo.retrieve(1).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).requestId).toMatch(/\S/);
    await expect(coyo.zeroShot({ image: png, labels: [] })).rejects.toBeInstanceOf(BadRequestError);
    await expect(new Coyo({ baseURL: must(stack).workerUrl, apiKey: 'coyo_wrong' }).models.list()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(coyo.zeroShot({ image: 'cat.jpg', labels })).rejects.toBeInstanceOf(CoyoInputError);
    await expect(coyo.models.list({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(APIUserAbortError);
  });
});

/** The value, or a failed test when it is missing. */
function must<T>(value: T | null | undefined): T {
  if (value === null || value === undefined) throw new Error('expected a value');
  return value;
}
