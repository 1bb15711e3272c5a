/**
 * The inputs of the edge CPU benchmark and profiler: the real local stack with a 200,000-row COYO
 * sample in its R2, and one request builder per public route. Inputs follow the CPU budget's terms: a
 * camera-size JPEG (4032×3024, about 2.4 MB), 5 labels, one COYO id.
 *
 * The image and text routes are driven through `@coyo/sdk`, so each request travels the way the SDK
 * sends it: one image of bytes to zero-shot, classify or embeddings (without texts) as the raw body
 * (fields in the query) with its SHA-256 in `Content-Digest`, so a cold one streams on to the backend
 * unread; several as multipart, and image bytes to similarity as multipart parts.
 * Rows named `extra:` send the single-image routes other ways: the curl way, the image as JSON base64,
 * and the cold images as they travelled before the digest (a raw body without `Content-Digest`, one new
 * image to embeddings as multipart), which the edge reads and hashes itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cameraJpeg } from '@coyo/gpu-backend/camera-jpeg';
import { Coyo } from '@coyo/sdk';
import { runCliOk, WRANGLER_CONFIG } from '../coyo/cli.ts';
import { startStack, type Stack } from '../harness/stack.ts';

/** One kind of request the benchmark repeats. */
export interface Case {
  name: string;
  /** Requests per run at concurrency 1 (runs at concurrency 8 make twice as many). */
  requests: number;
  /** Time cap of one run, in seconds. */
  seconds: number;
  expectedStatus?: number;
  /** Builds the `i`-th request of a run. */
  request: (i: number) => Promise<Response>;
}

export interface EdgeBench {
  stack: Stack;
  /** Every public route's cases, cache hits warmed. */
  cases: Case[];
  /** An authenticated request the router answers 404: what every request costs. */
  floor: Case;
  imageBytes: number;
  stop: () => Promise<void>;
}

/**
 * The same picture with a comment segment naming `n` right after the start-of-image marker: other
 * bytes (so another content key, a cache miss) at no re-encoding cost, and still a valid JPEG.
 */
function variant(jpeg: Buffer, n: number): Buffer {
  const text = Buffer.from(`bench ${n}`);
  const segment = Buffer.alloc(4 + text.length);
  segment.writeUInt16BE(0xfffe, 0);
  segment.writeUInt16BE(2 + text.length, 2);
  text.copy(segment, 4);
  return Buffer.concat([jpeg.subarray(0, 2), segment, jpeg.subarray(2)]);
}

/** Starts the stack (COYO sample ingested first), warms the caches the hit cases rely on, builds the cases. */
export async function startEdgeBench(options: { workerInspectorPort?: number } = {}): Promise<EdgeBench> {
  const persistDir = mkdtempSync(join(tmpdir(), 'coyo-bench-'));
  const sampleDir = join(persistDir, 'sample');
  await runCliOk(['sample', '--rows', '200000', '--out', sampleDir]);
  await runCliOk(['ingest', sampleDir, '--target', 'local', '--config', WRANGLER_CONFIG, '--persist', join(persistDir, 'v3'), '--work-dir', join(persistDir, 'work'), '--progress', 'none']);
  rmSync(sampleDir, { recursive: true, force: true });
  // Each key may make 600 requests a minute (the "high" tier): spread the load over enough keys that
  // the benchmark measures the worker, not the rate limiter.
  const stack = await startStack({ extraKeys: 15, persistDir, ...options });
  try {
    let turn = 0;
    const auth = () => `Bearer ${stack.apiKeys[turn++ % stack.apiKeys.length]}`;
    const get = (path: string) => fetch(`${stack.workerUrl}${path}`, { headers: { authorization: auth() } });
    const post = (path: string, body: unknown) =>
      fetch(`${stack.workerUrl}${path}`, { method: 'POST', headers: { authorization: auth(), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const labels = ['cat', 'dog', 'car', 'tree', 'people'];

    const camera = await cameraJpeg();
    const cameraBody = new Uint8Array(camera);
    const hitImage = { base64: camera.toString('base64') };
    let coldCounter = 0;
    /** A picture no request has sent before. */
    const coldBytes = () => variant(camera, ++coldCounter);
    const coldImage = () => ({ base64: coldBytes().toString('base64') });
    let textCounter = 0;
    const coldTexts = () => labels.map((l) => `a photo of ${l} number ${++textCounter}`);
    // One client per key, no retries: a failed request is counted, not repeated.
    const clients = stack.apiKeys.map((apiKey) => new Coyo({ baseURL: stack.workerUrl, apiKey, maxRetries: 0 }));
    let clientTurn = 0;
    const sdk = () => clients[clientTurn++ % clients.length] as Coyo;

    for (const [path, body] of [
      ['/v1/zero-shot', { image: hitImage, labels }],
      ['/v1/classify', { image: hitImage }],
      ['/v1/similarity', { images: [hitImage], texts: labels }],
    ] as const) {
      const res = await post(path, body);
      if (!res.ok) throw new Error(`warm-up ${path} answered ${res.status}: ${await res.text()}`);
    }

    // Ids spread over the whole dataset, so look-ups touch many row groups.
    const page = await get('/v1/coyo/filter?limit=100&min_aesthetic_score_laion_v2=6.5');
    const coyoIds = page.ok ? (((await page.json()) as { rows?: { id: number }[] }).rows?.map((r) => r.id) ?? []) : [];
    if (coyoIds.length < 20) throw new Error(`the COYO sample gave ${coyoIds.length} ids (${page.status}); the COYO cases need at least 20`);
    const idAt = (i: number) => coyoIds[i % coyoIds.length] ?? 0;
    const stats = (await (await get('/v1/coyo/stats')).json()) as { rows: number };
    let lookups = 0;

    /** Zero-shot with the labels in the query and `body` as a raw image/jpeg body (no Content-Digest). */
    const postRawZeroShot = (body: Uint8Array<ArrayBuffer>) =>
      fetch(`${stack.workerUrl}/v1/zero-shot?${labels.map((l) => `labels=${l}`).join('&')}`, {
        method: 'POST',
        headers: { authorization: auth(), 'content-type': 'image/jpeg' },
        body,
      });
    /** Classify with `body` as a raw image/jpeg body (no Content-Digest). */
    const postRawClassify = (body: Uint8Array<ArrayBuffer>) =>
      fetch(`${stack.workerUrl}/v1/classify`, { method: 'POST', headers: { authorization: auth(), 'content-type': 'image/jpeg' }, body });
    /** One image to embeddings as a multipart part, the SDK's form before raw bodies. */
    const postMultipartEmbedding = (bytes: Buffer) => {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/jpeg' }), 'image-0');
      return fetch(`${stack.workerUrl}/v1/embeddings`, { method: 'POST', headers: { authorization: auth() }, body: form });
    };

    const cases: Case[] = [
      // The SDK's transports: a raw body with Content-Digest for one image of bytes to zero-shot, classify or embeddings,
      // multipart for several and for similarity, JSON for texts.
      { name: 'zero-shot, cache hit (SDK: raw body)', requests: 60, seconds: 30, request: () => sdk().zeroShot({ image: camera, labels }).asResponse() },
      { name: 'zero-shot, cold image (SDK: raw body)', requests: 16, seconds: 40, request: () => sdk().zeroShot({ image: coldBytes(), labels }).asResponse() },
      { name: 'classify, cache hit (SDK: raw body)', requests: 60, seconds: 30, request: () => sdk().classify({ image: camera }).asResponse() },
      { name: 'classify, cold image (SDK: raw body)', requests: 16, seconds: 40, request: () => sdk().classify({ image: coldBytes() }).asResponse() },
      { name: 'embeddings, 5 new texts (SDK: JSON)', requests: 40, seconds: 30, request: () => sdk().embeddings.create({ texts: coldTexts() }).asResponse() },
      {
        name: 'embeddings, 1 new image (SDK: raw body)',
        requests: 16,
        seconds: 40,
        request: () => sdk().embeddings.create({ images: [coldBytes()] }).asResponse(),
      },
      {
        name: 'similarity, cache hit (SDK: multipart)',
        requests: 60,
        seconds: 30,
        request: () => sdk().similarity({ images: [camera], texts: labels }).asResponse(),
      },
      {
        name: 'extra: zero-shot, 2 images cache hit (SDK: multipart)',
        requests: 30,
        seconds: 30,
        request: () => sdk().zeroShot({ images: [camera, camera], labels }).asResponse(),
      },
      // The cold images as the edge reads them itself: a raw body without Content-Digest, one image as multipart;
      // and a hit without the digest, the look-up after the read instead of before it.
      { name: 'extra: zero-shot, cache hit (raw body, no digest)', requests: 60, seconds: 30, request: () => postRawZeroShot(cameraBody) },
      {
        name: 'extra: zero-shot, cold image (raw body, no digest)',
        requests: 16,
        seconds: 40,
        request: () => postRawZeroShot(new Uint8Array(coldBytes())),
      },
      { name: 'extra: classify, cold image (raw body, no digest)', requests: 16, seconds: 40, request: () => postRawClassify(new Uint8Array(coldBytes())) },
      { name: 'extra: embeddings, 1 new image (multipart)', requests: 16, seconds: 40, request: () => postMultipartEmbedding(coldBytes()) },
      // The curl form of the single-image routes: the image as base64 inside JSON.
      { name: 'extra: zero-shot, cache hit (JSON base64)', requests: 60, seconds: 30, request: () => post('/v1/zero-shot', { image: hitImage, labels }) },
      { name: 'extra: zero-shot, cold image (JSON base64)', requests: 16, seconds: 40, request: () => post('/v1/zero-shot', { image: coldImage(), labels }) },
      { name: 'extra: classify, cache hit (JSON base64)', requests: 60, seconds: 30, request: () => post('/v1/classify', { image: hitImage }) },
      { name: 'extra: classify, cold image (JSON base64)', requests: 16, seconds: 40, request: () => post('/v1/classify', { image: coldImage() }) },
      { name: 'COYO by id', requests: 100, seconds: 30, request: () => get(`/v1/coyo/${idAt(lookups++)}`) },
      { name: 'COYO batch, 20 ids', requests: 60, seconds: 30, request: (i) => post('/v1/coyo/batch', { ids: Array.from({ length: 20 }, (_, j) => idAt(i * 20 + j)) }) },
      {
        name: 'COYO filter page (100)',
        requests: 40,
        seconds: 30,
        request: (i) => get(`/v1/coyo/filter?limit=100&min_aesthetic_score_laion_v2=${(5 + (i % 10) * 0.1).toFixed(1)}`),
      },
      { name: 'COYO rows page (100)', requests: 40, seconds: 30, request: (i) => get(`/v1/coyo/rows?offset=${(i * 7919) % Math.max(1, stats.rows - 100)}&length=100`) },
      { name: 'COYO export (small)', requests: 30, seconds: 30, request: () => get('/v1/coyo/export?min_aesthetic_score_laion_v2=7.9&columns=id,url,aesthetic_score_laion_v2') },
    ];
    // Not routes: what carrying the image into the worker costs (the local proxy hop, the runtime's
    // copies, reading the body, and for JSON parsing it) before any image work, to read the image cases by.
    // A JSON body the route reads and parses, refused by its schema (no texts) before any image work:
    cases.push({
      name: 'transport: image JSON body read + parsed, 400',
      requests: 60,
      seconds: 30,
      expectedStatus: 400,
      request: () => post('/v1/similarity', { images: [hitImage], texts: [] }),
    });
    // The raw picture behind 8 bytes that make it no image: read whole, refused by its magic bytes (415).
    const notAnImage = new Uint8Array(Buffer.concat([Buffer.from('NOTANIMG'), camera]));
    cases.push({
      name: 'transport: raw image body read, 415',
      requests: 60,
      seconds: 30,
      expectedStatus: 415,
      request: () => postRawZeroShot(notAnImage),
    });
    const floor: Case = { name: 'floor: authenticated 404', requests: 80, seconds: 20, expectedStatus: 404, request: () => get('/v1/nothing-here') };
    return { stack, cases, floor, imageBytes: camera.length, stop: () => stack.stop() };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}
