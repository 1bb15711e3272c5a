/**
 * A real HTTP server (Node) standing in for the GPU backend and for public image hosts, started once
 * by the vitest global setup. Behaviour is chosen by the URL, so tests running in parallel never
 * share state:
 *
 *   /t/<tenant>/<mode>/…   the backend protocol (`@coyo/backend-protocol`, whose types and tables build
 *                          every answer here); <mode> is normal | slow | error | flaky | overloaded
 *                          | badjson | noecho; calls are counted per tenant. A raw image body with a
 *                          `content-digest` is checked as the real backend checks it: its SHA-256
 *                          against the claim (400 `digest_mismatch`), then its format (415); a match
 *                          is confirmed with `x-coyo-verified-sha256`, except in `noecho` mode (a
 *                          backend that does not check digests)
 *   /__stats/<tenant>      what that tenant's backend saw (calls per route, request ids, deadlines)
 *   PUT /__revision/<tenant>  body `{ "revision": "<hex>" | null, "models_revision"?: "<hex>" }`: the
 *                          weights that tenant's backend serves from now on (null: an older backend that
 *                          reports no revision); `models_revision` makes /v1/models report other weights
 *                          than the embed routes answer with (replicas of two weight sets behind one URL)
 *   PUT /__down/<tenant>   body `{ "down": true | false }`: while down, every backend call of that
 *                          tenant has its connection dropped unanswered, as a killed process would
 *   /img/…                 image host: png/<seed>, redirect?to=, chain/<n>, status/<code>, text,
 *                          big?bytes=&declare=1, hang
 */
import {
  EmbedTextRequestSchema,
  HEADERS,
  IMAGE_PART_NAME,
  parseContentDigest,
  LIMITS,
  MODEL_TASKS,
  PROBLEM_CONTENT_TYPE,
  REVISION_PATTERN,
  ROUTES,
  problemAnswer,
  type ClassifyAnswer,
  type PhashAnswer,
  type EmbedImageAnswer,
  type EmbedTextAnswer,
  type HealthAnswer,
  type ReadyAnswer,
  type ModelsAnswer,
  type ProblemType,
} from '@coyo/backend-protocol';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { sniffImageType } from '../src/services/image-sniff';
import {
  FAKE_ALIGN_ID,
  FAKE_DIM,
  FAKE_NUM_CLASSES,
  FAKE_REVISION,
  FAKE_TEMPERATURE,
  FAKE_VIT_ID,
  fakeClassify,
  fakeImageEmbedding,
  fakeTextEmbedding,
  fakeTokens,
} from './fake-embeddings';

export const FAKE_BACKEND_TOKEN = 'test-backend-token';
/** How long `slow` mode waits before answering, in ms. */
export const SLOW_MS = 3000;

export interface TenantStats {
  calls: Record<string, number>;
  images: number;
  texts: number;
  requestIds: string[];
  /** The `top_k` of each `/v1/classify` call, in order. */
  classifyTopKs: number[];
  deadlines: number[];
  /** How each raw image body of the image routes arrived: its framing headers and its claimed digest. */
  rawBodies: RawBodyStats[];
}

/** The framing of one raw image body as the fake received it. */
export interface RawBodyStats {
  route: string;
  contentLength: string | null;
  transferEncoding: string | null;
  contentDigest: string | null;
  bytes: number;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Bytes that sniff as PNG, distinct per seed. */
export function fakePngBytes(seed: string, size = 256): Uint8Array {
  const out = new Uint8Array(size);
  out.set(PNG_MAGIC);
  let h = 2166136261;
  for (const ch of seed) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  for (let i = PNG_MAGIC.length; i < size; i++) {
    h = Math.imul(h ^ i, 16777619);
    out[i] = h & 255;
  }
  return out;
}

function problem(res: ServerResponse, type: ProblemType, detail: string, headers: Record<string, string> = {}): void {
  const body = problemAnswer(type, detail, 'fake');
  res.writeHead(body.status, { 'content-type': PROBLEM_CONTENT_TYPE, ...headers });
  res.end(JSON.stringify(body));
}

function json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** The body field and header that name the weights, or nothing for an older backend. */
function revisionOf(revision: string | null): { field: { revision?: string }; headers: Record<string, string> } {
  return revision === null ? { field: {}, headers: {} } : { field: { revision }, headers: { [HEADERS.modelRevision]: revision } };
}

function toWebRequest(req: IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
  return new Request(`${origin}${req.url ?? '/'}`, {
    method: req.method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : undefined,
    // Node's fetch requires this for streamed request bodies.
    duplex: 'half',
  } as RequestInit);
}

/**
 * The fake backend's pHash of an image: the first 16 hex digits of its SHA-256, so a test can predict
 * it (the real hash is checked bit-exact in the backend's own tests).
 */
export async function fakePhash(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function imagesOf(request: Request): Promise<Uint8Array[]> {
  const type = request.headers.get('content-type') ?? '';
  if (type.startsWith('multipart/form-data')) {
    const form = await request.formData();
    const parts = form.getAll(IMAGE_PART_NAME).filter((p): p is File => typeof p !== 'string');
    return Promise.all(parts.map(async (p) => new Uint8Array(await p.arrayBuffer())));
  }
  return [new Uint8Array(await request.arrayBuffer())];
}

export class FakeServer {
  readonly #server: Server;
  readonly #stats = new Map<string, TenantStats>();
  readonly #flaky = new Set<string>();
  /** Revision per tenant; absent means {@link FAKE_REVISION}, null an older backend without one. */
  readonly #revisions = new Map<string, string | null>();
  readonly #modelsRevisions = new Map<string, string>();
  readonly #down = new Set<string>();
  origin = '';

  constructor() {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) problem(res, 'internal', String(err));
        else res.destroy();
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    return this.origin;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #tenant(id: string): TenantStats {
    let stats = this.#stats.get(id);
    if (!stats) {
      stats = { calls: {}, images: 0, texts: 0, requestIds: [], classifyTopKs: [], deadlines: [], rawBodies: [] };
      this.#stats.set(id, stats);
    }
    return stats;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const stats = /^\/__stats\/([^/]+)$/.exec(url.pathname);
    if (stats) return json(res, this.#tenant(stats[1] ?? ''));
    const revision = /^\/__revision\/([^/]+)$/.exec(url.pathname);
    if (revision && req.method === 'PUT') return this.#setRevision(revision[1] ?? '', req, res);
    const down = /^\/__down\/([^/]+)$/.exec(url.pathname);
    if (down && req.method === 'PUT') return this.#setDown(down[1] ?? '', req, res);
    if (url.pathname.startsWith('/img/')) return this.#image(url, req, res);
    const backend = /^\/t\/([^/]+)\/([^/]+)(\/.*)$/.exec(url.pathname);
    if (backend) return this.#backend(backend[1] ?? '', backend[2] ?? '', backend[3] ?? '', url, req, res);
    problem(res, 'not_found', url.pathname);
  }

  async #setRevision(tenant: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await toWebRequest(req, this.origin).json()) as { revision?: unknown; models_revision?: unknown };
    const hex = (v: unknown): v is string => typeof v === 'string' && REVISION_PATTERN.test(v);
    if ((body.revision !== null && !hex(body.revision)) || (body.models_revision !== undefined && !hex(body.models_revision))) {
      return problem(res, 'invalid_request', 'revision must be hex digits or null, models_revision hex digits');
    }
    this.#revisions.set(tenant, body.revision);
    if (body.models_revision === undefined) this.#modelsRevisions.delete(tenant);
    else this.#modelsRevisions.set(tenant, body.models_revision);
    json(res, { revision: body.revision });
  }

  async #setDown(tenant: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await toWebRequest(req, this.origin).json()) as { down?: unknown };
    if (typeof body.down !== 'boolean') return problem(res, 'invalid_request', 'down must be a boolean');
    if (body.down) this.#down.add(tenant);
    else this.#down.delete(tenant);
    json(res, { down: body.down });
  }

  async #image(url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = url.pathname.slice('/img/'.length);
    const seed = /^png\/(.+)$/.exec(path);
    if (seed) {
      res.writeHead(200, { 'content-type': 'image/png' });
      return void res.end(fakePngBytes(seed[1] ?? ''));
    }
    if (path === 'redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      return void res.end();
    }
    const chain = /^chain\/(\d+)$/.exec(path);
    if (chain) {
      const n = Number(chain[1]);
      if (n === 0) {
        res.writeHead(200, { 'content-type': 'image/png' });
        return void res.end(fakePngBytes('chain'));
      }
      res.writeHead(301, { location: `./${n - 1}` });
      return void res.end();
    }
    const status = /^status\/(\d+)$/.exec(path);
    if (status) {
      res.writeHead(Number(status[1]), { 'content-type': 'text/plain' });
      return void res.end('nope');
    }
    if (path === 'text') {
      res.writeHead(200, { 'content-type': 'image/png' });
      return void res.end('this is not an image at all');
    }
    if (path === 'big') {
      const total = Number(url.searchParams.get('bytes') ?? '0');
      const headers: Record<string, string> = { 'content-type': 'image/png' };
      if (url.searchParams.get('declare') === '1') headers['content-length'] = String(total);
      res.writeHead(200, headers);
      const chunk = new Uint8Array(64 * 1024);
      chunk.set(PNG_MAGIC);
      let sent = 0;
      while (sent < total && !res.destroyed) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve));
      }
      return void res.end();
    }
    if (path === 'hang') {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.write(new Uint8Array(PNG_MAGIC));
      await new Promise((resolve) => req.socket.once('close', resolve));
      return;
    }
    problem(res, 'not_found', path);
  }

  async #backend(tenant: string, mode: string, route: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const stats = this.#tenant(tenant);
    stats.calls[route] = (stats.calls[route] ?? 0) + 1;
    const requestId = req.headers[HEADERS.requestId];
    if (typeof requestId === 'string') stats.requestIds.push(requestId);
    const deadline = req.headers[HEADERS.deadlineMs];
    if (typeof deadline === 'string') stats.deadlines.push(Number(deadline));
    if (this.#down.has(tenant)) return void req.socket.destroy();

    if (route !== ROUTES.health.path && route !== ROUTES.ready.path && req.headers.authorization !== `Bearer ${FAKE_BACKEND_TOKEN}`) {
      return problem(res, 'unauthorized', 'bad backend token');
    }
    if (mode === 'slow') {
      const closed = new Promise((resolve) => res.once('close', resolve));
      await Promise.race([new Promise((resolve) => setTimeout(resolve, SLOW_MS)), closed]);
      if (res.destroyed || res.writableEnded) return;
    }
    if (mode === 'error') return problem(res, 'internal', 'the fake backend failed on purpose');
    if (mode === 'overloaded') return problem(res, 'overloaded', 'queue full', { [HEADERS.retryAfter]: '0' });
    if (mode === 'flaky' && !this.#flaky.has(`${tenant}${route}`)) {
      this.#flaky.add(`${tenant}${route}`);
      return problem(res, 'overloaded', 'queue full', { [HEADERS.retryAfter]: '0' });
    }
    if (mode === 'badjson') return json(res, { model: FAKE_ALIGN_ID });

    const request = toWebRequest(req, this.origin);
    const served = this.#revisions.has(tenant) ? (this.#revisions.get(tenant) ?? null) : FAKE_REVISION;
    const { field, headers } = revisionOf(served);
    // An older backend serves the default weights.
    const weights = served ?? FAKE_REVISION;
    switch (route) {
      case ROUTES.health.path:
        return json(res, { status: 'ok', test_models: true, warning: 'fake backend' } satisfies HealthAnswer);
      case ROUTES.ready.path:
        return json(res, { status: 'ready' } satisfies ReadyAnswer);
      case ROUTES.models.path: {
        const listed = this.#modelsRevisions.has(tenant) ? revisionOf(this.#modelsRevisions.get(tenant) ?? null).field : field;
        return json(res, {
          device: 'cpu',
          test_models: true,
          warning: 'serving fake test models',
          models: [
            {
              id: FAKE_ALIGN_ID,
              ...listed,
              task: MODEL_TASKS.zeroShot,
              image_size: 289,
              embedding_dim: FAKE_DIM,
              max_text_tokens: LIMITS.maxTextTokens,
              temperature: FAKE_TEMPERATURE,
            },
            { id: FAKE_VIT_ID, ...listed, task: MODEL_TASKS.imageClassification, image_size: 384, num_labels: FAKE_NUM_CLASSES },
          ],
          batching: { max_batch_size: 32, max_queue_delay_ms: 5, max_queue: 256 },
        } satisfies ModelsAnswer);
      }
      case ROUTES.embedImage.path: {
        const images = await imagesOf(request);
        const checked = await this.#checkDigest(req, res, route, images, mode, stats);
        if (checked === null) return;
        stats.images += images.length;
        const embeddings = await Promise.all(images.map((img) => fakeImageEmbedding(img, weights)));
        return json(res, { model: FAKE_ALIGN_ID, ...field, dim: FAKE_DIM, embeddings } satisfies EmbedImageAnswer, { ...headers, ...checked });
      }
      case ROUTES.embedText.path: {
        const parsed = EmbedTextRequestSchema.safeParse(await request.json());
        if (!parsed.success) return problem(res, 'invalid_request', parsed.error.message);
        const { texts } = parsed.data;
        stats.texts += texts.length;
        return json(
          res,
          {
            model: FAKE_ALIGN_ID,
            ...field,
            dim: FAKE_DIM,
            embeddings: await Promise.all(texts.map((text) => fakeTextEmbedding(text, weights))),
            tokens: texts.map(fakeTokens),
          } satisfies EmbedTextAnswer,
          headers,
        );
      }
      case ROUTES.phash.path: {
        const images = await imagesOf(request);
        stats.images += images.length;
        return json(res, { phashes: await Promise.all(images.map(fakePhash)) } satisfies PhashAnswer, headers);
      }
      case ROUTES.classify.path: {
        const images = await imagesOf(request);
        const checked = await this.#checkDigest(req, res, route, images, mode, stats);
        if (checked === null) return;
        stats.images += images.length;
        const topK = Number(url.searchParams.get('top_k') ?? String(LIMITS.defaultTopK));
        stats.classifyTopKs.push(topK);
        return json(
          res,
          { model: FAKE_VIT_ID, ...field, predictions: await Promise.all(images.map((img) => fakeClassify(img, topK))) } satisfies ClassifyAnswer,
          { ...headers, ...checked },
        );
      }
      default:
        return problem(res, 'not_found', route);
    }
  }

  /**
   * Records a raw image body's framing and, when it claims a digest, checks it as the real backend
   * does: the SHA-256 of the bytes received first (400 `digest_mismatch`), then the format (415). Returns
   * the confirmation header to answer with (none in `noecho` mode or without a claim), or null once it
   * has answered with a problem.
   */
  async #checkDigest(
    req: IncomingMessage,
    res: ServerResponse,
    route: string,
    images: Uint8Array[],
    mode: string,
    stats: TenantStats,
  ): Promise<Record<string, string> | null> {
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : null;
    };
    const contentType = header('content-type') ?? '';
    if (contentType.startsWith('multipart/form-data')) return {};
    const contentDigest = header(HEADERS.contentDigest);
    stats.rawBodies.push({
      route,
      contentLength: header('content-length'),
      transferEncoding: header('transfer-encoding'),
      contentDigest,
      bytes: images[0]?.byteLength ?? 0,
    });
    if (contentDigest === null) return {};
    const claim = parseContentDigest(contentDigest);
    if (claim.kind === 'invalid') {
      problem(res, 'invalid_request', `content-digest: ${claim.reason}`);
      return null;
    }
    if (claim.kind === 'other') return {};
    const [bytes] = images;
    const actual = await sha256Hex(bytes ?? new Uint8Array());
    if (actual !== claim.hex) {
      problem(res, 'digest_mismatch', `the body's SHA-256 is ${actual}, not ${claim.hex}`);
      return null;
    }
    const sniffed = sniffImageType(bytes ?? new Uint8Array());
    if (!sniffed.supported) {
      problem(res, 'unsupported_media_type', sniffed.reason);
      return null;
    }
    return mode === 'noecho' ? {} : { [HEADERS.verifiedSha256]: actual };
  }
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
