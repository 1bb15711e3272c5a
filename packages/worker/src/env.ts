import { z } from 'zod';

/**
 * Every binding the worker reads, in one place. Storage bindings and `[vars]` come from
 * `wrangler.toml`, typed by `wrangler types` into `worker-configuration.d.ts` (`Cloudflare.Env`;
 * regenerate with `pnpm --filter @coyo/worker gen:env`, a test fails when it drifts). `[vars]` there
 * or in the dashboard may be strings or numbers, so tunables are typed `string | number` and parsed
 * once by {@link loadConfig} / {@link loadEdgeConfig}, which hold every default.
 *
 * | binding | kind | meaning (default) |
 * |---|---|---|
 * | `COYO_BUCKET` | R2 | COYO-700M metadata: sorted parquet shards + manifest |
 * | `API_KEYS` | KV | API keys, stored only as `sha256:<hex>` hashes with a JSON record |
 * | `CACHE` | KV | embedding cache (float32 bytes), classification cache (class indices and scores; one label table per model revision) and the backend's model info |
 * | `RATE_LIMIT_STANDARD`, `RATE_LIMIT_HIGH` | rate limit | per-key limits of the two key tiers (`[[ratelimits]]`) |
 * | `BACKEND_URL` | var | base URL of the GPU backend; a path prefix is kept (required) |
 * | `BACKEND_TOKEN` | secret | shared secret sent as `Authorization: Bearer` to the backend (required) |
 * | `IMAGE_EGRESS` | service | where image URLs are fetched: locally and self-hosted, a workerd network service that connects to public addresses only, judged on the resolved address (`pnpm dev` and the tests provide it, docs/security.md); absent on Cloudflare, where the global `fetch` does not reach private networks (optional) |
 * | `ALLOWED_ORIGINS` | var | comma-separated CORS origins, `*` for any, empty for none (`*`) |
 * | `RATE_LIMIT_STANDARD_LIMIT`, `RATE_LIMIT_HIGH_LIMIT` | var | requests per period a key of the tier may make (60, 600); must equal `simple.limit` of the tier's `[[ratelimits]]` binding, which enforces it |
 * | `RATE_LIMIT_STANDARD_PERIOD`, `RATE_LIMIT_HIGH_PERIOD` | var | the tier's window in s, 10 or 60 (60, 60); must equal the binding's `simple.period` |
 * | `COYO_FILTER_MAX_ROWS_SCANNED` | var | rows one `/v1/coyo/filter` request may examine before it answers with a cursor (65536) |
 * | `COYO_FILTER_MAX_READS` | var | R2 reads one `/v1/coyo/filter` request may make, footers included (32) |
 * | `COYO_EXPORT_MAX_READS` | var | row groups one `/v1/coyo/export` response may read before it names the next cursor (4: a response stays within ≈ 3 ms of isolate CPU over the floor, and far inside the free plan's 10 ms; a paid plan may raise it for fewer, longer responses) |
 * | `MAX_IMAGE_BYTES` | var | largest accepted image, in bytes (10 MiB) |
 * | `MAX_REQUEST_BYTES` | var | largest request body, and the budget for all images of one request (32 MiB) |
 * | `MAX_IMAGES_PER_REQUEST` | var | most images one request may carry, 1 to 16 (16); more is a 413 `payload_too_large` |
 * | `MAX_REQUEST_PIXELS` | var | most pixels (width × height, read from the image headers) all images of one request may decode to (100000000); more is a 413 `payload_too_large`, refused before the backend decodes anything |
 * | `ADMISSION_MAX_IN_FLIGHT` | var | backend-bound requests (inference, `/hf/*`, image look-up) one isolate serves at once; more are refused at once with 503 `overloaded` and `Retry-After`, before the body is read (32) |
 * | `ADMISSION_MAX_BODY_BYTES` | var | request-body bytes those requests may hold together, by declared `Content-Length` (unknown: `MAX_REQUEST_BYTES`); past it, 503 `overloaded` as above; a lone request is always admitted (64 MiB) |
 * | `BACKEND_DEADLINE_MS` | var | time budget for all backend work of one request, in ms (30000) |
 * | `BACKEND_MAX_RETRIES` | var | retries on connect errors and 503, each with full jitter (2) |
 * | `BACKEND_BREAKER_THRESHOLD` | var | consecutive failed backend calls that open the circuit (5) |
 * | `BACKEND_BREAKER_PROBE_MAX_MS` | var | longest pause between readiness checks (`/readyz`) of the backend while the circuit is open, in ms; checks start at 50 ms and double up to it (500) |
 * | `HEALTH_TIMEOUT_MS` | var | how long `/healthz` waits for the backend, in ms (1500) |
 * | `IMAGE_FETCH_TIMEOUT_MS` | var | time budget to fetch one image URL, redirects included, in ms (10000) |
 * | `CACHE_TTL_SECONDS` | var | lifetime of cached embeddings, classifications and label tables in KV, in s (30 days; KV's minimum is 60) |
 * | `MODEL_INFO_TTL_SECONDS` | var | lifetime of the cached backend model info, in s (300) |
 */
export interface Env extends Cloudflare.Env, Omit<TunableVars, keyof Cloudflare.Env> {
  BACKEND_TOKEN: string;
  IMAGE_EGRESS?: Fetcher;
}

/** The optional vars; those wrangler.toml sets are typed by the generated `Cloudflare.Env` instead. */
export interface TunableVars extends EdgeVars {
  MAX_IMAGE_BYTES?: string | number;
  MAX_REQUEST_BYTES?: string | number;
  MAX_IMAGES_PER_REQUEST?: string | number;
  MAX_REQUEST_PIXELS?: string | number;
  ADMISSION_MAX_IN_FLIGHT?: string | number;
  ADMISSION_MAX_BODY_BYTES?: string | number;
  BACKEND_DEADLINE_MS?: string | number;
  BACKEND_MAX_RETRIES?: string | number;
  BACKEND_BREAKER_THRESHOLD?: string | number;
  BACKEND_BREAKER_PROBE_MAX_MS?: string | number;
  HEALTH_TIMEOUT_MS?: string | number;
  IMAGE_FETCH_TIMEOUT_MS?: string | number;
  CACHE_TTL_SECONDS?: string | number;
  MODEL_INFO_TTL_SECONDS?: string | number;
}

/** The vars the middleware and the COYO routes read; none of them needs the backend's. */
export interface EdgeVars {
  ALLOWED_ORIGINS?: string;
  RATE_LIMIT_STANDARD_LIMIT?: string | number;
  RATE_LIMIT_STANDARD_PERIOD?: string | number;
  RATE_LIMIT_HIGH_LIMIT?: string | number;
  RATE_LIMIT_HIGH_PERIOD?: string | number;
  COYO_FILTER_MAX_ROWS_SCANNED?: string | number;
  COYO_FILTER_MAX_READS?: string | number;
  COYO_EXPORT_MAX_READS?: string | number;
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

/** The parsed `ALLOWED_ORIGINS`: any origin, or an exact set of serialised origins. */
export type AllowedOrigins = { any: true } | { any: false; origins: ReadonlySet<string> };

const OriginEntrySchema = z.string().transform((entry, ctx) => {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)} is not a URL origin (scheme://host[:port])` });
    return z.NEVER;
  }
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !bare || /[?#]/.test(entry)) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)} is not an http(s) origin (scheme://host[:port], no path)` });
    return z.NEVER;
  }
  // URL.origin lower-cases scheme and host and drops a default port, as browsers serialise Origin.
  return url.origin;
});

const AllowedOriginsSchema = z
  .string()
  .optional()
  .transform((raw = '*', ctx): AllowedOrigins => {
    const entries = raw
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    if (entries.includes('*')) {
      if (entries.length === 1) return { any: true };
      ctx.addIssue({ code: 'custom', message: 'must be "*" or a comma-separated list of origins: "*" cannot be combined with other origins' });
      return z.NEVER;
    }
    const origins: string[] = [];
    for (const entry of entries) {
      const parsed = OriginEntrySchema.safeParse(entry);
      if (parsed.success) origins.push(parsed.data);
      else for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: `must be "*" or a comma-separated list of origins: ${issue.message}` });
    }
    return { any: false, origins: new Set(origins) };
  });

/** A rate-limit window: the Workers binding accepts only 10 or 60 seconds. */
function periodVar(fallback: 10 | 60) {
  return intVar(10, 60, fallback).refine((n): n is 10 | 60 => n === 10 || n === 60, 'must be 10 or 60 (the periods a [[ratelimits]] binding accepts)');
}

const EdgeConfigSchema = z.object({
  ALLOWED_ORIGINS: AllowedOriginsSchema,
  RATE_LIMIT_STANDARD_LIMIT: intVar(1, 1_000_000, 60),
  RATE_LIMIT_STANDARD_PERIOD: periodVar(60),
  RATE_LIMIT_HIGH_LIMIT: intVar(1, 1_000_000, 600),
  RATE_LIMIT_HIGH_PERIOD: periodVar(60),
  COYO_FILTER_MAX_ROWS_SCANNED: intVar(1, 100_000_000, 65_536),
  COYO_FILTER_MAX_READS: intVar(1, 10_000, 32),
  COYO_EXPORT_MAX_READS: intVar(1, 10_000, 4),
});

const ConfigSchema = EdgeConfigSchema.extend({
  BACKEND_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  BACKEND_TOKEN: z.string({ error: 'is required (a secret: `wrangler secret put BACKEND_TOKEN`, or .dev.vars)' }).min(1, 'must not be empty'),
  MAX_IMAGE_BYTES: intVar(1024, 100 * MiB, 10 * MiB),
  MAX_REQUEST_BYTES: intVar(1024, 100 * MiB, 32 * MiB),
  // 16 is the ceiling the request schemas declare (schemas/image.ts); a deployment may only lower it.
  MAX_IMAGES_PER_REQUEST: intVar(1, 16, 16),
  MAX_REQUEST_PIXELS: intVar(1, 2_000_000_000, 100_000_000),
  ADMISSION_MAX_IN_FLIGHT: intVar(1, 100_000, 32),
  ADMISSION_MAX_BODY_BYTES: intVar(MiB, 1024 * MiB, 64 * MiB),
  BACKEND_DEADLINE_MS: intVar(50, 300_000, 30_000),
  BACKEND_MAX_RETRIES: intVar(0, 5, 2),
  BACKEND_BREAKER_THRESHOLD: intVar(1, 1000, 5),
  BACKEND_BREAKER_PROBE_MAX_MS: intVar(50, 60_000, 500),
  // Replaced, not ignored: a deployment still setting it learns what took its place.
  BACKEND_BREAKER_COOLDOWN_MS: z
    .never({ error: 'is no longer read: the open circuit follows the backend’s /readyz; set BACKEND_BREAKER_PROBE_MAX_MS instead' })
    .optional(),
  HEALTH_TIMEOUT_MS: intVar(50, 30_000, 1_500),
  IMAGE_FETCH_TIMEOUT_MS: intVar(100, 120_000, 10_000),
  CACHE_TTL_SECONDS: intVar(60, 365 * 24 * 3600, 30 * 24 * 3600),
  MODEL_INFO_TTL_SECONDS: intVar(60, 24 * 3600, 300),
});

/** The tiers of API keys (the `tier` of an API key record). */
export type RateLimitTier = 'standard' | 'high';

/** The rate-limit bindings, one per tier. */
export interface RateLimitBindings {
  RATE_LIMIT_STANDARD: RateLimit;
  RATE_LIMIT_HIGH: RateLimit;
}

/** One tier's policy: which binding counts it and the quota that binding is configured with. */
export interface RateLimitPolicy {
  binding: keyof RateLimitBindings;
  /** Requests allowed per period; must equal `simple.limit` of the binding in wrangler.toml. */
  limit: number;
  /** Window in seconds; the binding accepts only 10 or 60. */
  period: 10 | 60;
}

/** What the middleware and the COYO routes read, parsed without the backend's settings. */
export interface EdgeConfig {
  allowedOrigins: AllowedOrigins;
  /** Policy per tier, as the `[[ratelimits]]` bindings enforce it (a test checks they agree). */
  rateLimitPolicies: Readonly<Record<RateLimitTier, RateLimitPolicy>>;
  coyoFilterMaxRowsScanned: number;
  coyoFilterMaxReads: number;
  /** Row groups one export response may read (`COYO_EXPORT_MAX_READS`). */
  coyoExportMaxReads: number;
}

/** Parsed, validated configuration; field names say their unit. */
export interface Config extends EdgeConfig {
  backendUrl: string;
  backendToken: string;
  maxImageBytes: number;
  maxRequestBytes: number;
  /** Most images in one request. */
  maxImagesPerRequest: number;
  /** Most header-declared pixels (width × height) summed over the images of one request. */
  maxRequestPixels: number;
  /** Bounds of the isolate's admission limiter for backend-bound requests (`middleware/admission.ts`). */
  admission: { maxInFlight: number; maxBodyBytes: number };
  backendDeadlineMs: number;
  backendMaxRetries: number;
  breakerThreshold: number;
  breakerProbeMaxMs: number;
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
const parsedEdge = new WeakMap<object, EdgeConfig>();

function configError(error: z.ZodError): ConfigError {
  const problems = error.issues.map((i) => `${i.path.join('.') || '(env)'} ${i.message}`);
  return new ConfigError(`invalid worker configuration: ${problems.join('; ')}`);
}

function edgeConfigOf(v: z.infer<typeof EdgeConfigSchema>): EdgeConfig {
  return {
    allowedOrigins: v.ALLOWED_ORIGINS,
    rateLimitPolicies: {
      standard: { binding: 'RATE_LIMIT_STANDARD', limit: v.RATE_LIMIT_STANDARD_LIMIT, period: v.RATE_LIMIT_STANDARD_PERIOD },
      high: { binding: 'RATE_LIMIT_HIGH', limit: v.RATE_LIMIT_HIGH_LIMIT, period: v.RATE_LIMIT_HIGH_PERIOD },
    },
    coyoFilterMaxRowsScanned: v.COYO_FILTER_MAX_ROWS_SCANNED,
    coyoFilterMaxReads: v.COYO_FILTER_MAX_READS,
    coyoExportMaxReads: v.COYO_EXPORT_MAX_READS,
  };
}

/**
 * Parses the vars the middleware and the COYO routes need, once per `env` object, so requests that
 * never reach the backend do not need its settings. Throws a {@link ConfigError} naming the variable.
 *
 * @example loadEdgeConfig({ ALLOWED_ORIGINS: 'https://a.example, http://localhost:5173' }).allowedOrigins
 */
export function loadEdgeConfig(env: EdgeVars): EdgeConfig {
  const hit = parsedEdge.get(env) ?? parsed.get(env);
  if (hit) return hit;
  const result = EdgeConfigSchema.safeParse(env);
  if (!result.success) throw configError(result.error);
  const config = edgeConfigOf(result.data);
  parsedEdge.set(env, config);
  return config;
}

/**
 * Parses the vars once per `env` object (the runtime hands the same object to every request of an
 * isolate), so a bad deployment fails on its first request with a message naming the variable.
 */
export function loadConfig(env: Env): Config {
  const hit = parsed.get(env);
  if (hit) return hit;
  const result = ConfigSchema.safeParse(env);
  if (!result.success) throw configError(result.error);
  const v = result.data;
  const config: Config = {
    ...edgeConfigOf(v),
    backendUrl: v.BACKEND_URL,
    backendToken: v.BACKEND_TOKEN,
    maxImageBytes: v.MAX_IMAGE_BYTES,
    maxRequestBytes: Math.max(v.MAX_REQUEST_BYTES, v.MAX_IMAGE_BYTES),
    maxImagesPerRequest: v.MAX_IMAGES_PER_REQUEST,
    maxRequestPixels: v.MAX_REQUEST_PIXELS,
    admission: { maxInFlight: v.ADMISSION_MAX_IN_FLIGHT, maxBodyBytes: v.ADMISSION_MAX_BODY_BYTES },
    backendDeadlineMs: v.BACKEND_DEADLINE_MS,
    backendMaxRetries: v.BACKEND_MAX_RETRIES,
    breakerThreshold: v.BACKEND_BREAKER_THRESHOLD,
    breakerProbeMaxMs: v.BACKEND_BREAKER_PROBE_MAX_MS,
    healthTimeoutMs: v.HEALTH_TIMEOUT_MS,
    imageFetchTimeoutMs: v.IMAGE_FETCH_TIMEOUT_MS,
    cacheTtlSeconds: v.CACHE_TTL_SECONDS,
    modelInfoTtlSeconds: v.MODEL_INFO_TTL_SECONDS,
  };
  parsed.set(env, config);
  return config;
}
