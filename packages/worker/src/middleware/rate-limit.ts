/**
 * Per-key rate limits with the Workers Rate Limiting binding: one binding per tier (see
 * `[[ratelimits]]` in wrangler.toml and the `RATE_LIMIT_*` vars in `env.ts`), counted by API key id.
 *
 * Headers follow draft-ietf-httpapi-ratelimit-headers-11 (the structured-field form that replaced
 * `RateLimit-Limit/-Remaining/-Reset`), with the tier as the policy name:
 *
 *   RateLimit-Policy: "standard";q=60;w=60          on every response to an authenticated request
 *   RateLimit: "standard";r=0;t=17                  on 429 only, with Retry-After: 17
 *
 * What they can and cannot promise: the binding answers only allowed / not allowed. It keeps no
 * count we can read, so on success there is no honest "remaining" and the `RateLimit` field is left
 * out (the draft allows that) rather than invented. `RateLimit-Policy` states the configured quota,
 * which is exact. Cloudflare counts per location and eventually consistently ("permissive"), so a
 * client spread over locations may get more, and a burst may slip a few requests past `q`. The
 * `t`/`Retry-After` value is the time to the end of the current clock-aligned window of `w` seconds:
 * exact for the local runtime (miniflare buckets by `floor(now / period)`), at most one period in
 * production, where the window's alignment is not documented.
 *
 * Requests without an authenticated key (public routes; auth has already rejected the rest) are not
 * counted. If the limiter itself fails, the request is let through and the failure logged: a broken
 * counter must not take the API down.
 */
import type { MiddlewareHandler } from 'hono';
import { ConfigError, loadEdgeConfig, type EdgeVars, type RateLimitBindings, type RateLimitPolicy, type RateLimitTier } from '../env';
import { ProblemError } from '../errors';

/** What the middleware reads from the authenticated API key record (`c.var.apiKey`). */
export interface RateLimitSubject {
  id: string;
  tier: RateLimitTier;
}

export interface RateLimitOptions {
  /** Policy per tier (default: the `RATE_LIMIT_*` vars, see `env.ts`). */
  policies?: Readonly<Record<RateLimitTier, RateLimitPolicy>>;
  /** Clock in ms since the epoch, for the reset estimate (default `Date.now`). */
  now?: () => number;
}

/** The Hono environment this middleware reads: the bindings, the key set by auth, the request id. */
export interface RateLimitEnv {
  Bindings: Partial<RateLimitBindings> & EdgeVars;
  Variables: { apiKey?: RateLimitSubject; requestId?: string };
}

/** `"standard";q=60;w=60`: the RateLimit-Policy item of a tier. */
export function rateLimitPolicyField(tier: RateLimitTier, policy: RateLimitPolicy): string {
  return `"${tier}";q=${policy.limit};w=${policy.period}`;
}

/**
 * Whole seconds until the current clock-aligned window of `periodSeconds` ends, in [1, period]: when
 * a request refused now may succeed again.
 */
export function secondsUntilWindowEnd(nowMs: number, periodSeconds: number): number {
  const periodMs = periodSeconds * 1000;
  const windowEnd = (Math.floor(nowMs / periodMs) + 1) * periodMs;
  return Math.min(periodSeconds, Math.max(1, Math.ceil((windowEnd - nowMs) / 1000)));
}

/**
 * Rate-limit middleware; mount it after auth so `c.var.apiKey` is set. Throws a 429 `rate_limited`
 * problem (with `Retry-After`) when the key's tier binding refuses the request.
 *
 * @example app.use(requestId(), cors(), auth(), rateLimit())
 */
export function rateLimit({ policies, now = Date.now }: RateLimitOptions = {}): MiddlewareHandler<RateLimitEnv> {
  return async function rateLimit(c, next) {
    const subject = c.get('apiKey');
    if (subject === undefined) return next();

    // `app.request()` without bindings (tests) leaves c.env undefined.
    const bindings = c.env as RateLimitEnv['Bindings'] | undefined;
    const policy = (policies ?? loadEdgeConfig(bindings ?? {}).rateLimitPolicies)[subject.tier] as RateLimitPolicy | undefined;
    if (policy === undefined) throw new Error(`bug: no rate-limit policy for tier ${JSON.stringify(subject.tier)}`);
    const limiter = bindings?.[policy.binding];
    if (limiter === undefined) {
      throw new ConfigError(`invalid worker configuration: ${policy.binding} is missing (a [[ratelimits]] binding in wrangler.toml)`);
    }
    const policyField = rateLimitPolicyField(subject.tier, policy);

    let allowed: boolean;
    try {
      allowed = (await limiter.limit({ key: subject.id })).success;
    } catch (error) {
      console.error(
        JSON.stringify({
          level: 'error',
          request_id: c.get('requestId') ?? 'unknown',
          message: 'rate limiter failed; request let through',
          binding: policy.binding,
          error: error instanceof Error ? error.message : String(error),
        }),
      );
      allowed = true;
    }

    if (!allowed) {
      const retryAfter = secondsUntilWindowEnd(now(), policy.period);
      throw new ProblemError(
        'rate_limited',
        `This API key is limited to ${policy.limit} requests per ${policy.period} s (${subject.tier} tier); retry after ${retryAfter} s.`,
        {
          headers: {
            'retry-after': String(retryAfter),
            'ratelimit-policy': policyField,
            ratelimit: `"${subject.tier}";r=0;t=${retryAfter}`,
          },
        },
      );
    }

    await next();
    c.header('ratelimit-policy', policyField);
  };
}
