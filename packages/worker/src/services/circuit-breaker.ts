/**
 * A circuit breaker for the GPU backend: after `failureThreshold` consecutive failed calls it opens
 * and rejects calls at once (so a dead backend costs clients no deadline), and after `cooldownMs`
 * lets a single probe through (half-open); the probe's outcome closes or re-opens it.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before a probe, in ms (default 10 s). */
  cooldownMs?: number;
  /** Clock in ms, injected for tests. */
  now?: (() => number) | undefined;
}

/** Admission of one call: a permit to report back, or a rejection with the time until a probe. */
export type BreakerAdmission = { allowed: true; probe: boolean } | { allowed: false; retryAfterMs: number };

export class CircuitBreaker {
  readonly #threshold: number;
  readonly #cooldownMs: number;
  readonly #now: () => number;
  #failures = 0;
  #openedAt = 0;
  #state: BreakerState = 'closed';
  #probeInFlight = false;

  constructor({ failureThreshold = 5, cooldownMs = 10_000, now = Date.now }: CircuitBreakerOptions = {}) {
    this.#threshold = failureThreshold;
    this.#cooldownMs = cooldownMs;
    this.#now = now;
  }

  /** The state as of now (an open circuit whose cooldown has passed reads as half-open). */
  get state(): BreakerState {
    if (this.#state === 'open' && this.#now() - this.#openedAt >= this.#cooldownMs) return 'half-open';
    return this.#state;
  }

  /** Asks to make a call; every allowed call must end in {@link onSuccess} or {@link onFailure}. */
  acquire(): BreakerAdmission {
    const state = this.state;
    if (state === 'closed') return { allowed: true, probe: false };
    if (state === 'half-open' && !this.#probeInFlight) {
      this.#state = 'half-open';
      this.#probeInFlight = true;
      return { allowed: true, probe: true };
    }
    const retryAfterMs = Math.max(0, this.#openedAt + this.#cooldownMs - this.#now());
    return { allowed: false, retryAfterMs: retryAfterMs === 0 ? this.#cooldownMs : retryAfterMs };
  }

  /** The call reached a healthy backend: the circuit closes and the failure count resets. */
  onSuccess(): void {
    this.#failures = 0;
    this.#probeInFlight = false;
    this.#state = 'closed';
  }

  /** The call failed (connect error, timeout, 5xx): counts toward opening; a failed probe re-opens. */
  onFailure(): void {
    this.#probeInFlight = false;
    this.#failures += 1;
    if (this.#state === 'half-open' || this.#failures >= this.#threshold) {
      this.#state = 'open';
      this.#openedAt = this.#now();
    }
  }
}
