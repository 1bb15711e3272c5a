import { z } from 'zod';

/**
 * Every binding the worker reads, in one place. Storage bindings come from `wrangler.toml`; `[vars]`
 * there or in the dashboard may be strings or numbers, so tunables are typed `string | number` and
 * parsed once by {@link loadConfig}.
 *
 * | binding | kind | meaning (default) |
 * |---|---|---|
 * | `COYO_BUCKET` | R2 | COYO-700M metadata: sorted parquet shards + manifest |
 * | `API_KEYS` | KV | API keys, stored only as `sha256:<hex>` hashes with a JSON record |
 * | `CACHE` | KV | embedding cache (float32 bytes), classification cache (class indices and scores; one label table per model revision) and the backend's model info |
 * | `RATE_LIMIT_STANDARD`, `RATE_LIMIT_HIGH` | rate limit | per-key limits of the two key tiers (`[[ratelimits]]`) |
 * | `BACKEND_URL` | var | base URL of the GPU backend; a path prefix is kept (required) |
 * | `BACKEND_TOKEN` | secret | shared secret sent as `Authorization: Bearer` to the backend (required) |
 * | `ALLOWED_ORIGINS` | var | comma-separated CORS origins, `*` for any (read by `middleware/cors.ts`) |
 * | `MAX_IMAGE_BYTES` | var | largest accepted image, in bytes (10 MiB) |
 * | `MAX_REQUEST_BYTES` | var | largest request body, and the budget for all images of one request (32 MiB) |
 * | `BACKEND_DEADLINE_MS` | var | time budget for all backend work of one request, in ms (30000) |
 * | `BACKEND_MAX_RETRIES` | var | retries on connect errors and 503, each with full jitter (2) |
 * | `BACKEND_BREAKER_THRESHOLD` | var | consecutive failed backend calls that open the circuit (5) |
 * | `BACKEND_BREAKER_COOLDOWN_MS` | var | how long the circuit stays open before one probe, in ms (10000) |
 * | `HEALTH_TIMEOUT_MS` | var | how long `/healthz` waits for the backend, in ms (1500) |
 * | `IMAGE_FETCH_TIMEOUT_MS` | var | time budget to fetch one image URL, redirects included, in ms (10000) |
 * | `CACHE_TTL_SECONDS` | var | lifetime of cached embeddings, classifications and label tables in KV, in s (30 days; KV's minimum is 60) |
 * | `MODEL_INFO_TTL_SECONDS` | var | lifetime of the cached backend model info, in s (300) |
 */
export interface Env {
  COYO_BUCKET: R2Bucket;
  API_KEYS: KVNamespace;
  CACHE: KVNamespace;
  RATE_LIMIT_STANDARD: RateLimit;
  RATE_LIMIT_HIGH: RateLimit;
  BACKEND_URL: string;
  BACKEND_TOKEN: string;
  ALLOWED_ORIGINS?: string;
  MAX_IMAGE_BYTES?: string | number;
  MAX_REQUEST_BYTES?: string | number;
  BACKEND_DEADLINE_MS?: string | number;
  BACKEND_MAX_RETRIES?: string | number;
  BACKEND_BREAKER_THRESHOLD?: string | number;
  BACKEND_BREAKER_COOLDOWN_MS?: string | number;
  HEALTH_TIMEOUT_MS?: string | number;
  IMAGE_FETCH_TIMEOUT_MS?: string | number;
  CACHE_TTL_SECONDS?: string | number;
  MODEL_INFO_TTL_SECONDS?: string | number;
}

/** The Hono environment of this app: bindings only; request variables are typed in `context.ts`. */
export interface AppEnv {
  Bindings: Env;
}

const MiB = 1024 * 1024;

/** An integer var that may arrive as a string ("1500") or a number (1500); blank means unset. */
function intVar(min: number, max: number, fallback: number) {
  return z
    .union([z.number(), z.string()])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || (typeof v === 'string' && v.trim() === '')) return fallback;
      const n = typeof v === 'number' ? v : Number(v.trim());
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    });
}

const ConfigSchema = z.object({
  BACKEND_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  BACKEND_TOKEN: z.string({ error: 'is required (a secret: `wrangler secret put BACKEND_TOKEN`, or .dev.vars)' }).min(1, 'must not be empty'),
  MAX_IMAGE_BYTES: intVar(1024, 100 * MiB, 10 * MiB),
  MAX_REQUEST_BYTES: intVar(1024, 100 * MiB, 32 * MiB),
  BACKEND_DEADLINE_MS: intVar(50, 300_000, 30_000),
  BACKEND_MAX_RETRIES: intVar(0, 5, 2),
  BACKEND_BREAKER_THRESHOLD: intVar(1, 1000, 5),
  BACKEND_BREAKER_COOLDOWN_MS: intVar(100, 600_000, 10_000),
  HEALTH_TIMEOUT_MS: intVar(50, 30_000, 1_500),
  IMAGE_FETCH_TIMEOUT_MS: intVar(100, 120_000, 10_000),
  CACHE_TTL_SECONDS: intVar(60, 365 * 24 * 3600, 30 * 24 * 3600),
  MODEL_INFO_TTL_SECONDS: intVar(60, 24 * 3600, 300),
});

/** Parsed, validated configuration; field names say their unit. */
export interface Config {
  backendUrl: string;
  backendToken: string;
  maxImageBytes: number;
  maxRequestBytes: number;
  backendDeadlineMs: number;
  backendMaxRetries: number;
  breakerThreshold: number;
  breakerCooldownMs: number;
  healthTimeoutMs: number;
  imageFetchTimeoutMs: number;
  cacheTtlSeconds: number;
  modelInfoTtlSeconds: number;
}

/** Thrown when a binding is missing or malformed; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const parsed = new WeakMap<object, Config>();

/**
 * Parses the vars once per `env` object (the runtime hands the same object to every request of an
 * isolate), so a bad deployment fails on its first request with a message naming the variable.
 */
export function loadConfig(env: Env): Config {
  const hit = parsed.get(env);
  if (hit) return hit;
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(env)'} ${i.message}`);
    throw new ConfigError(`invalid worker configuration: ${problems.join('; ')}`);
  }
  const v = result.data;
  const config: Config = {
    backendUrl: v.BACKEND_URL,
    backendToken: v.BACKEND_TOKEN,
    maxImageBytes: v.MAX_IMAGE_BYTES,
    maxRequestBytes: Math.max(v.MAX_REQUEST_BYTES, v.MAX_IMAGE_BYTES),
    backendDeadlineMs: v.BACKEND_DEADLINE_MS,
    backendMaxRetries: v.BACKEND_MAX_RETRIES,
    breakerThreshold: v.BACKEND_BREAKER_THRESHOLD,
    breakerCooldownMs: v.BACKEND_BREAKER_COOLDOWN_MS,
    healthTimeoutMs: v.HEALTH_TIMEOUT_MS,
    imageFetchTimeoutMs: v.IMAGE_FETCH_TIMEOUT_MS,
    cacheTtlSeconds: v.CACHE_TTL_SECONDS,
    modelInfoTtlSeconds: v.MODEL_INFO_TTL_SECONDS,
  };
  parsed.set(env, config);
  return config;
}
