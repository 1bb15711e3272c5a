/**
 * The backend's HTTP routes: the wire format is `@coyo/backend-protocol` (docs/backend-protocol.md), and
 * every answer is built as its type. A handler asks the engine twice: a permit before reading the body,
 * then one call that returns all the answer holds. The app holds no model state itself: it reads the
 * engine from {@link ServerStatus}, so tests run it with a fake backend through `app.request()` and the
 * server can listen (and answer `/healthz`) before the sessions have loaded.
 */
import { availableParallelism } from 'node:os';
import {
  HEADERS,
  ROUTES,
  acceptsBinaryEmbeddings,
  type HealthAnswer,
  type ModelsAnswer,
  type PhashAnswer,
  type ReadyAnswer,
} from '@coyo/backend-protocol';
import { Hono, type Context } from 'hono';
import type { RequestIdVariables } from 'hono/request-id';
import type { Answered, Engine, ImageEmbeddings, Work, WorkOptions } from '../batching/engine.js';
import type { Sha256Claim } from '../backend/sha256-claim.js';
import type { Config } from '../config.js';
import type { BackendMetrics } from '../metrics/metrics.js';
import { silentLogger, type Logger } from '../metrics/logger.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/registry.js';
import { phashOf } from '../models/phash.js';
import { classifyAnswer, claimedSha256, embeddingsAnswer, errorAnswer, parseDeadlineMs, parseTopK, withVerifiedSha256 } from './answers.js';
import { bearerAuth } from './auth.js';
import { incomingOf, isMultipart, readImages, readTexts } from './body.js';
import { HttpProblem, problemResponse } from './problem.js';
import { resolveRequestId } from './request-id.js';
import { recordRequest } from './request-log.js';
import type { ServerStatus } from './status.js';

type AppEnv = {
  Variables: RequestIdVariables & {
    engine: Engine;
    /** Absolute time on the engine's clock after which unstarted work is dropped. */
    deadlineAt: number | undefined;
  };
};

export interface AppDeps {
  config: Pick<Config, 'token' | 'limits'>;
  status: ServerStatus;
  metrics: BackendMetrics;
  logger?: Logger;
  /**
   * The `/metrics` page, when it is more than this process's own (a replica's processes merged,
   * `replica/primary.ts`). Default: `metrics.render()`.
   */
  renderMetrics?: () => Promise<string>;
  /**
   * pHash requests hashed at once (decode, resize and DCT, outside the batched towers); one more is refused
   * with 503 `overloaded` before its body is read. Default: twice the host's cores.
   */
  maxConcurrentPhash?: number;
}

/** Builds the Hono app; `deps.status` decides whether `/v1/*` is open. */
export function createApp({
  config,
  status,
  metrics,
  logger = silentLogger,
  renderMetrics,
  maxConcurrentPhash = 2 * availableParallelism(),
}: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(async function requestId(c, next) {
    const id = resolveRequestId(c.req.header(HEADERS.requestId));
    c.set('requestId', id);
    c.header(HEADERS.requestId, id);
    await next();
  });

  app.use(async function countAndLog(c, next) {
    const started = performance.now();
    await next();
    recordRequest(metrics, logger, { requestId: c.get('requestId'), method: c.req.method, path: c.req.path, status: c.res.status, started });
  });

  app.get(ROUTES.health.path, (c) => c.json(status.health() satisfies HealthAnswer));

  app.get(ROUTES.ready.path, (c) => c.json({ status: status.phase } satisfies ReadyAnswer, status.phase === 'ready' ? 200 : 503));

  app.get(ROUTES.metrics.path, async (c) =>
    c.body(renderMetrics ? await renderMetrics() : metrics.render(), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }),
  );

  app.use('/v1/*', bearerAuth({ token: config.token }), async function admitWhenReady(c, next) {
    const engine = status.engine;
    if (status.phase !== 'ready' || engine === undefined) {
      throw new HttpProblem('not_ready', status.phase === 'draining' ? 'the server is shutting down' : 'the models are still loading');
    }
    const deadlineMs = parseDeadlineMs(c.req.header(HEADERS.deadlineMs));
    c.set('engine', engine);
    c.set('deadlineAt', deadlineMs === undefined ? undefined : engine.now() + deadlineMs);
    const leave = status.enter();
    try {
      await next();
    } finally {
      leave();
    }
  });

  const work = (c: Context<AppEnv>): WorkOptions => {
    const deadlineAt = c.get('deadlineAt');
    return { signal: c.req.raw.signal, ...(deadlineAt !== undefined ? { deadlineAt } : {}) };
  };

  /**
   * The SHA-256 a raw image body claims in `content-digest` (a 400 problem when the field is malformed),
   * checked where the image is decoded and confirmed on the answer; a multipart body's is ignored.
   */
  const claimedImageSha256 = (c: Context<AppEnv>): Sha256Claim | undefined =>
    isMultipart(c.req.header('content-type')) ? undefined : claimedSha256(c.req.header(HEADERS.contentDigest));

  /** {@link work} for an image route, with the digest its one raw image must have. */
  const imageWork = (c: Context<AppEnv>, sha256: Sha256Claim | undefined): WorkOptions => ({ ...work(c), ...(sha256 !== undefined ? { sha256 } : {}) });

  /**
   * Runs `read` then `run` under a permit of `work`, taken before the body is read so an overloaded tower
   * answers 503 at once; the permit is returned however the request ends. The answer comes back with the
   * time admission took (permit, body read and parse), for the stage metrics.
   */
  const withPermit = async <I, T>(
    c: Context<AppEnv>,
    kind: Work,
    read: () => Promise<I>,
    run: (engine: Engine, input: I, permit: ReturnType<Engine['tryAcquirePermit']>) => Promise<T>,
  ): Promise<{ answer: T; admissionMs: number }> => {
    const admitting = performance.now();
    const engine = c.get('engine');
    const permit = engine.tryAcquirePermit(kind);
    try {
      const input = await read();
      const admissionMs = performance.now() - admitting;
      return { answer: await run(engine, input, permit), admissionMs };
    } finally {
      permit.release();
    }
  };

  /** Records a request's stage times; serialisation runs from `serialising` until now. */
  const observeStages = (route: string, answered: Answered, admissionMs: number, serialising: number) => {
    metrics.observeStages(route, {
      admission: admissionMs,
      preprocess: answered.preprocessMs,
      queue: answered.queueMs,
      inference: answered.inferenceMs,
      serialise: performance.now() - serialising,
    });
  };

  /**
   * An embed answer ({@link embeddingsAnswer}: JSON, or binary rows when `Accept` asks for them),
   * confirming `sha256` when the image's digest was checked against it.
   */
  const answerEmbeddings = (
    c: Context<AppEnv>,
    route: string,
    answer: ImageEmbeddings,
    admissionMs: number,
    tokens?: readonly number[],
    sha256?: Sha256Claim,
  ) => {
    const serialising = performance.now();
    const { headers, body } = withVerifiedSha256(embeddingsAnswer(answer, acceptsBinaryEmbeddings(c.req.header('accept')), tokens), sha256);
    const response = c.body(body, 200, headers);
    observeStages(route, answer, admissionMs, serialising);
    return response;
  };

  app.post(ROUTES.embedImage.path, async (c) => {
    const sha256 = claimedImageSha256(c);
    const { answer, admissionMs } = await withPermit(
      c,
      'embed-image',
      () => readImages(c.req.raw, config.limits, incomingOf(c.env)),
      (engine, images, permit) => engine.embedImages(images, permit, imageWork(c, sha256)),
    );
    return answerEmbeddings(c, ROUTES.embedImage.path, answer, admissionMs, undefined, sha256);
  });

  app.post(ROUTES.embedText.path, async (c) => {
    const { answer, admissionMs } = await withPermit(
      c,
      'embed-text',
      () => readTexts(c.req.raw, config.limits, incomingOf(c.env)),
      (engine, texts, permit) => engine.embedTexts(texts, permit, work(c)),
    );
    return answerEmbeddings(c, ROUTES.embedText.path, answer, admissionMs, answer.tokens);
  });

  app.post(ROUTES.classify.path, async (c) => {
    const k = parseTopK(c.req.query('top_k'));
    const sha256 = claimedImageSha256(c);
    const { answer, admissionMs } = await withPermit(
      c,
      'classify',
      () => readImages(c.req.raw, config.limits, incomingOf(c.env)),
      (engine, images, permit) => engine.classify(images, k, permit, imageWork(c, sha256)),
    );
    const serialising = performance.now();
    const { headers, body } = withVerifiedSha256(classifyAnswer(answer), sha256);
    const response = c.body(body, 200, headers);
    observeStages(ROUTES.classify.path, answer, admissionMs, serialising);
    return response;
  });

  // No model and no batch: the hash is a decode, a resize and a 32×32 DCT per image, done at once.
  // Bounded like the towers' queues: past `maxConcurrentPhash` requests in flight, 503 before the body is read.
  let phashInFlight = 0;
  app.post(ROUTES.phash.path, async (c) => {
    if (phashInFlight >= maxConcurrentPhash) throw new HttpProblem('overloaded', `${maxConcurrentPhash} pHash requests are already being served`);
    phashInFlight += 1;
    try {
      const images = await readImages(c.req.raw, config.limits, incomingOf(c.env));
      const phashes: string[] = [];
      for (const image of images) phashes.push(await phashOf(image, { maxPixels: config.limits.maxImagePixels }));
      return c.json({ phashes } satisfies PhashAnswer);
    } finally {
      phashInFlight -= 1;
    }
  });

  app.get(ROUTES.models.path, (c) => c.json(c.get('engine').describe() satisfies ModelsAnswer));

  app.notFound((c) => problemResponse({ type: 'not_found', detail: `no route for ${c.req.method} ${c.req.path}` }, c.get('requestId')));

  app.onError((error, c) => {
    const { status, headers, body } = errorAnswer(error, c.get('requestId'), c.req.raw.signal.aborted, logger);
    return new Response(body, { status, headers });
  });

  return app;
}
