/**
 * The backend's HTTP routes (docs/backend-protocol.md). The app holds no model state itself: it reads the
 * engine from {@link ServerStatus}, so tests run it with a fake backend through `app.request()` and the
 * server can listen (and answer `/healthz`) before the sessions have loaded.
 */
import { Hono, type Context } from 'hono';
import { requestId, type RequestIdVariables } from 'hono/request-id';
import type { Engine, Timed } from '../batching/engine.js';
import { ALIGN_IMAGE_SIZE, ALIGN_MODEL_ID, MAX_TEXT_TOKENS, VIT_IMAGE_SIZE, VIT_MODEL_ID } from '../backend/types.js';
import type { Config } from '../config.js';
import type { BackendMetrics } from '../metrics/metrics.js';
import { silentLogger, type Logger } from '../metrics/logger.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/registry.js';
import { bearerAuth } from './auth.js';
import { readImages, readTexts } from './body.js';
import { ClientGone, HttpProblem, problemResponse, toProblem } from './problem.js';
import type { ServerStatus } from './status.js';

/** `top_k` of `/v1/classify` when none is given (the image-classification pipeline's default). */
export const DEFAULT_TOP_K = 5;
/** Status logged and counted for requests whose client went away (nobody receives it). */
export const CLIENT_CLOSED_STATUS = 499;

const ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/v1/embed/image', '/v1/embed/text', '/v1/classify', '/v1/models']);

type AppEnv = {
  Variables: RequestIdVariables & {
    engine: Engine;
    /** Absolute time on the engine's clock after which unstarted work is dropped. */
    deadlineAt: number | undefined;
  };
};

export interface AppDeps {
  config: Pick<Config, 'token' | 'limits' | 'batching'>;
  status: ServerStatus;
  metrics: BackendMetrics;
  logger?: Logger;
}

/** Float32 values as JSON numbers with the 9 significant digits that round-trip a float32 exactly. */
function float32Json(values: Float32Array): number[] {
  return Array.from(values, (v) => Number(v.toPrecision(9)));
}

function formatMs(ms: number): string {
  return String(Math.round(ms * 10) / 10);
}

function setTiming(c: Context, result: Timed<unknown>): void {
  c.header('x-queue-time', formatMs(result.queueMs));
  c.header('x-inference-time', formatMs(result.inferenceMs));
}

/** Names the weights that made an answer, in the header as in the body, so callers can key caches by it. */
function setRevision(c: Context, revision: string): string {
  c.header('x-model-revision', revision);
  return revision;
}

function parseDeadlineMs(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  if (!/^\d{1,10}$/.test(header.trim())) {
    throw new HttpProblem('invalid_request', 'x-deadline-ms must be a whole number of milliseconds');
  }
  return Number(header.trim());
}

function parseTopK(value: string | undefined): number {
  if (value === undefined) return DEFAULT_TOP_K;
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1) throw new HttpProblem('invalid_request', 'top_k must be a whole number ≥ 1');
  return Number(value);
}

/** Builds the Hono app; `deps.status` decides whether `/v1/*` is open. */
export function createApp({ config, status, metrics, logger = silentLogger }: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(requestId({ headerName: 'x-request-id' }));

  app.use(async function recordRequest(c, next) {
    const started = performance.now();
    await next();
    const route = ROUTES.has(c.req.path) ? c.req.path : 'other';
    metrics.requests.inc({ route, status: String(c.res.status) });
    if (route.startsWith('/v1/')) {
      logger.info('request', {
        request_id: c.get('requestId'),
        method: c.req.method,
        route,
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      });
    }
  });

  app.get('/healthz', (c) =>
    c.json({
      status: 'ok',
      test_models: status.models.testModels,
      ...(status.models.warning !== undefined ? { warning: status.models.warning } : {}),
    }),
  );

  app.get('/readyz', (c) => c.json({ status: status.phase }, status.phase === 'ready' ? 200 : 503));

  app.get('/metrics', (c) => c.body(metrics.render(), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }));

  app.use('/v1/*', bearerAuth({ token: config.token }), async function admitWhenReady(c, next) {
    const engine = status.engine;
    if (status.phase !== 'ready' || engine === undefined) {
      throw new HttpProblem('not_ready', status.phase === 'draining' ? 'the server is shutting down' : 'the models are still loading');
    }
    const deadlineMs = parseDeadlineMs(c.req.header('x-deadline-ms'));
    c.set('engine', engine);
    c.set('deadlineAt', deadlineMs === undefined ? undefined : engine.now() + deadlineMs);
    const leave = status.enter();
    try {
      await next();
    } finally {
      leave();
    }
  });

  const work = (c: Context<AppEnv>) => {
    const deadlineAt = c.get('deadlineAt');
    return { signal: c.req.raw.signal, ...(deadlineAt !== undefined ? { deadlineAt } : {}) };
  };

  app.post('/v1/embed/image', async (c) => {
    const engine = c.get('engine');
    engine.alignVision.refuseIfFull();
    const images = await readImages(c.req.raw, config.limits);
    const result = await engine.embedImages(images, work(c));
    setTiming(c, result);
    return c.json({
      model: ALIGN_MODEL_ID,
      revision: setRevision(c, engine.backend.revisions.align),
      dim: status.models.embeddingDim,
      embeddings: result.value.map(float32Json),
    });
  });

  app.post('/v1/embed/text', async (c) => {
    const engine = c.get('engine');
    engine.alignText.refuseIfFull();
    const texts = await readTexts(c.req.raw, config.limits);
    const result = await engine.embedTexts(texts, work(c));
    setTiming(c, result);
    return c.json({
      model: ALIGN_MODEL_ID,
      revision: setRevision(c, engine.backend.revisions.align),
      dim: status.models.embeddingDim,
      embeddings: result.value.embeddings.map(float32Json),
      tokens: result.value.tokens,
    });
  });

  app.post('/v1/classify', async (c) => {
    const engine = c.get('engine');
    const k = parseTopK(c.req.query('top_k'));
    engine.vit.refuseIfFull();
    const images = await readImages(c.req.raw, config.limits);
    const result = await engine.classify(images, k, work(c));
    setTiming(c, result);
    return c.json({
      model: VIT_MODEL_ID,
      revision: setRevision(c, engine.backend.revisions.vit),
      predictions: result.value.map((list) =>
        list.map(({ label, score, index }) => ({ label, score: Number(score.toPrecision(9)), index })),
      ),
    });
  });

  app.get('/v1/models', (c) => {
    const { models } = status;
    const { backend } = c.get('engine');
    return c.json({
      device: backend.device,
      test_models: models.testModels,
      ...(models.warning !== undefined ? { warning: models.warning } : {}),
      models: [
        {
          id: ALIGN_MODEL_ID,
          revision: backend.revisions.align,
          task: 'zero-shot-image-classification',
          image_size: ALIGN_IMAGE_SIZE,
          embedding_dim: models.embeddingDim,
          max_text_tokens: MAX_TEXT_TOKENS,
          temperature: models.alignTemperature,
        },
        {
          id: VIT_MODEL_ID,
          revision: backend.revisions.vit,
          task: 'image-classification',
          image_size: VIT_IMAGE_SIZE,
          num_labels: models.vitLabels.length,
        },
      ],
      batching: {
        max_batch_size: config.batching.maxBatchSize,
        max_queue_delay_ms: config.batching.maxQueueDelayMs,
        max_queue: config.batching.maxQueue,
      },
    });
  });

  app.notFound((c) => problemResponse({ type: 'not_found', detail: `no route for ${c.req.method} ${c.req.path}` }, c.get('requestId')));

  app.onError((error, c) => {
    const requestIdValue = c.get('requestId');
    const problem = toProblem(error);
    // A connection dropped mid-upload makes the body stream fail with a plain error: it is the client's
    // leaving, not a server fault, and nobody reads the answer.
    const gone = problem instanceof ClientGone || (problem.type === 'internal' && c.req.raw.signal.aborted);
    if (gone) {
      logger.info('client closed the request', { request_id: requestIdValue });
      return new Response(null, { status: CLIENT_CLOSED_STATUS, headers: { 'x-request-id': requestIdValue } });
    }
    if (problem.type === 'internal') logger.error('request failed', { request_id: requestIdValue, error });
    return problemResponse(problem, requestIdValue);
  });

  return app;
}
