/**
 * Wires services together: what lives as long as the app (circuit breaker, LRUs, model info) and what
 * is made per request (deadline, request id, cache writes deferred past the response).
 */
import { loadConfig, type Config, type Env } from './env';
import { AdmissionLimiter } from './middleware/admission';
import { BackendClient } from './services/backend-client';
import { BodyPool, RequestBodies } from './services/body-pool';
import { CircuitBreaker } from './services/circuit-breaker';
import { ClassificationCache, newClassificationLrus, type ClassificationLrus } from './services/classification-cache';
import { Classifier } from './services/classifier';
import { EmbeddingCache, type CachedEmbedding } from './services/embedding-cache';
import { ImageBudget, type IntakeOptions } from './services/image-intake';
import { Inference } from './services/inference';
import { isolateLru, type IsolateLru } from './services/kv-lru-cache';
import { ModelInfoCache } from './services/model-info';

/** What `createApp` takes, so tests pass fakes instead of patching globals. */
export interface AppDeps {
  /** Fetch for backend calls and image URLs (default: the global fetch). */
  fetch?: typeof fetch;
  /** Clock in ms (default `Date.now`). */
  now?: () => number;
  /** Randomness for retry jitter (default `Math.random`). */
  random?: () => number;
  /** Sleep between retries (default `setTimeout`). */
  sleep?: (ms: number) => Promise<void>;
  /** Embeddings held in the isolate's LRU (default 4096, about 10 MB at 640 dims). */
  lruEntries?: number;
  /** Request-body buffers kept for reuse (default: a pool of its own per runtime). */
  bodyPool?: BodyPool;
}

/** State shared by all requests of one app instance (one per isolate in production). */
export interface Runtime {
  config: Config;
  backend: BackendClient;
  breaker: CircuitBreaker;
  lru: IsolateLru<CachedEmbedding>;
  /** Classifications and label tables held in the isolate, in front of KV. */
  classificationLrus: ClassificationLrus;
  modelInfo: ModelInfoCache;
  /** Permits for backend-bound requests, shared by the isolate's requests. */
  admission: AdmissionLimiter;
  /** Image request bodies' buffers, reused after requests answered from the cache. */
  bodyPool: BodyPool;
}

/** Everything a handler needs for one request. */
export interface RequestServices {
  config: Config;
  backend: BackendClient;
  breaker: CircuitBreaker;
  modelInfo: ModelInfoCache;
  admission: AdmissionLimiter;
  inference: Inference;
  classifier: Classifier;
  intake: IntakeOptions;
  /** A fresh byte budget for the images of this request. */
  imageBudget: () => ImageBudget;
  /** This request's pooled body buffers; released by the route once its answer no longer needs them. */
  bodies: RequestBodies;
  requestId: string;
  deadline: number;
  defer: (work: Promise<unknown>) => void;
}

/** The global fetch, called unbound (workerd refuses `fetch` called with another `this`). */
const globalFetch: typeof fetch = (input, init) => fetch(input, init);

/**
 * Returns a function from `env` to the app's runtime, built once per configuration, so an app fed a
 * different `env` (another deployment, a test) gets its own breaker and caches.
 */
export function runtimeFactory(deps: AppDeps): (env: Env) => Runtime {
  const runtimes = new WeakMap<Config, Runtime>();
  const doFetch = deps.fetch ?? globalFetch;
  return (env) => {
    const config = loadConfig(env);
    const existing = runtimes.get(config);
    if (existing) return existing;
    const breaker: CircuitBreaker = new CircuitBreaker({
      failureThreshold: config.breakerThreshold,
      probeMaxMs: config.breakerProbeMaxMs,
      // A readiness check must never hold a request long: it answers within the longest pause.
      checkReady: () => backend.ready(Math.min(config.healthTimeoutMs, Math.max(250, config.breakerProbeMaxMs))),
      now: deps.now,
    });
    const backend: BackendClient = new BackendClient({
      baseUrl: config.backendUrl,
      token: config.backendToken,
      fetch: doFetch,
      breaker,
      maxRetries: config.backendMaxRetries,
      now: deps.now,
      random: deps.random,
      sleep: deps.sleep,
    });
    const runtime: Runtime = {
      config,
      backend,
      breaker,
      lru: isolateLru<CachedEmbedding>(deps.lruEntries ?? 4096),
      classificationLrus: newClassificationLrus(),
      modelInfo: new ModelInfoCache({ ttlSeconds: config.modelInfoTtlSeconds, now: deps.now }),
      admission: new AdmissionLimiter(),
      bodyPool: deps.bodyPool ?? new BodyPool(),
    };
    runtimes.set(config, runtime);
    return runtime;
  };
}

/**
 * The fetch for image URLs when an `IMAGE_EGRESS` service is bound (a workerd network service that
 * reaches public addresses only, so a name resolving to a private one fails to connect); undefined
 * otherwise, and image URLs use the app's fetch. The backend never goes through it.
 */
function imageEgress(env: Env): typeof fetch | undefined {
  const egress = env.IMAGE_EGRESS;
  if (egress === undefined) return undefined;
  return (input, init) => egress.fetch(input, init);
}

/** Builds the services of one request. */
export function requestServices(
  runtime: Runtime,
  env: Env,
  requestId: string,
  defer: (work: Promise<unknown>) => void,
  deps: AppDeps,
): RequestServices {
  const { config, backend, breaker, lru, classificationLrus, modelInfo, admission, bodyPool } = runtime;
  const now = deps.now ?? Date.now;
  const deadline = now() + config.backendDeadlineMs;
  const call = { requestId, deadline };
  const ttlSeconds = config.cacheTtlSeconds;
  const cache = new EmbeddingCache({ store: env.CACHE, lru, ttlSeconds, defer });
  const inference = new Inference({ backend, cache, modelInfo, modelInfoStore: env.CACHE, call, defer });
  const classifications = new ClassificationCache({ store: env.CACHE, lrus: classificationLrus, ttlSeconds, defer });
  const classifier = new Classifier({ backend, cache: classifications, modelInfo, modelInfoStore: env.CACHE, call, defer });
  return {
    config,
    backend,
    breaker,
    modelInfo,
    admission,
    inference,
    classifier,
    intake: {
      maxImageBytes: config.maxImageBytes,
      fetch: imageEgress(env) ?? deps.fetch ?? globalFetch,
      fetchTimeoutMs: config.imageFetchTimeoutMs,
    },
    imageBudget: () => new ImageBudget(config.maxRequestBytes),
    bodies: new RequestBodies(bodyPool),
    requestId,
    deadline,
    defer,
  };
}
