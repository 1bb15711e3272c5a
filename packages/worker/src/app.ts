/**
 * The edge API as a Hono app. Middleware order: request id → CORS → admission gate → auth → rate
 * limit → admission → routes (auth and rate limit on `/v1/*` and the Hugging Face-compatible `/hf/*`,
 * the admission gate and permit on the routes that call the backend); one
 * error path (`errors.ts`) renders every failure as problem+json.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { waitUntilOf } from './context';
import type { AppEnv } from './env';
import { handleError, notFoundHandler, validationHook } from './errors';
import { admission, admissionGate } from './middleware/admission';
import { auth } from './middleware/auth';
import { cors } from './middleware/cors';
import { rateLimit } from './middleware/rate-limit';
import { requestId } from './middleware/request-id';
import { openApiDocument, registerSecurityScheme, type OpenApiDocument } from './openapi';
import { registerHfRoutes } from './routes/compat/hf';
import { registerCoyoRoutes } from './routes/coyo';
import { registerInferenceRoutes } from './routes/inference';
import { registerHealth } from './routes/meta/health';
import { registerModels } from './routes/meta/models';
import { requestServices, runtimeFactory, type AppDeps, type RequestServices } from './runtime';

export type { AppDeps } from './runtime';

/** The routes whose work reaches the backend: held to the isolate's admission limit before their body is read. */
const BACKEND_BOUND_PATHS = ['/v1/embeddings', '/v1/zero-shot', '/v1/classify', '/v1/similarity', '/v1/coyo/lookup-image', '/hf/*'];

/** `ctx.waitUntil` when the runtime gave an execution context, else let the work run unawaited. */
function deferOf(c: Pick<Context, 'executionCtx'>): (work: Promise<unknown>) => void {
  return waitUntilOf(c) ?? ((work) => void work);
}

/**
 * Builds the app with its dependencies injected (fetch, clock, randomness), so tests run the real
 * app against fakes without patching globals. One instance per isolate holds the circuit breaker,
 * the embedding LRU and the model info.
 */
export function createApp(deps: AppDeps = {}): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const runtimeOf = runtimeFactory(deps);
  registerSecurityScheme(app);

  app.onError(handleError);
  app.notFound(notFoundHandler(() => app.routes));

  app.use('*', requestId());
  app.use('*', async function attachServices(c, next) {
    let services: RequestServices | undefined;
    c.set('services', () => (services ??= requestServices(runtimeOf(c.env), c.env, c.var.requestId, deferOf(c), deps)));
    await next();
  });
  app.use('*', cors());
  app.on('POST', BACKEND_BOUND_PATHS, admissionGate());
  app.use('/v1/*', auth());
  app.use('/v1/*', rateLimit());
  app.use('/hf/*', auth());
  app.use('/hf/*', rateLimit());
  app.on('POST', BACKEND_BOUND_PATHS, admission());

  registerHealth(app);
  registerModels(app);
  registerInferenceRoutes(app);
  registerHfRoutes(app);
  registerCoyoRoutes(app);

  let spec: OpenApiDocument | undefined;
  app.get('/openapi.json', (c) => {
    spec ??= openApiDocument(app);
    c.header('cache-control', 'public, max-age=300');
    return c.json(spec);
  });

  return app;
}
