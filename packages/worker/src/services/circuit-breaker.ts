/**
 * A circuit breaker for the GPU backend: after `failureThreshold` consecutive failed calls it opens
 * and rejects calls at once (so a dead backend costs clients no deadline). While open it does not wait
 * a fixed cooldown: it asks the backend's readiness (`checkReady`, the backend's `/readyz`) with a short
 * exponential back-off (`probeMinMs` doubling up to `probeMaxMs`), driven by the calls it rejects, and
 * as soon as the backend says it is ready the circuit turns half-open and the next call goes through
 * as the probe; the probe's outcome closes or re-opens it. A backend that is ready again therefore
 * serves traffic within about `probeMaxMs` plus one readiness round trip.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** First pause between readiness checks of an open circuit, in ms (default 50). */
  probeMinMs?: number;
  /** Longest pause between readiness checks of an open circuit, in ms (default 500). */
  probeMaxMs?: number;
  /**
   * Asks whether the backend is ready again; resolves true only on a positive answer and never
   * rejects. Without it the circuit turns half-open after each back-off pause and the next call probes.
   */
  checkReady?: (() => Promise<boolean>) | undefined;
  /** Clock in ms, injected for tests. */
  now?: (() => number) | undefined;
}

/** Admission of one call: a permit to report back, or a rejection with the time until the next check. */
export type BreakerAdmission = { allowed: true; probe: boolean } | { allowed: false; retryAfterMs: number };

export class CircuitBreaker {
  readonly #threshold: number;
  readonly #probeMinMs: number;
  readonly #probeMaxMs: number;
  readonly #checkReady: (() => Promise<boolean>) | undefined;
  readonly #now: () => number;
  #failures = 0;
  #state: BreakerState = 'closed';
  /** While open: when the next readiness check is due. */
  #nextCheckAt = 0;
  /** While open: consecutive unsuccessful checks and probes, for the back-off. */
  #attempts = 0;
  #checking: Promise<boolean> | undefined;
  #probeInFlight = false;

  constructor({ failureThreshold = 5, probeMinMs = 50, probeMaxMs = 500, checkReady, now = Date.now }: CircuitBreakerOptions = {}) {
    if (probeMinMs > probeMaxMs) throw new Error(`bug: probeMinMs (${probeMinMs}) exceeds probeMaxMs (${probeMaxMs})`);
    this.#threshold = failureThreshold;
    this.#probeMinMs = probeMinMs;
    this.#probeMaxMs = probeMaxMs;
    this.#checkReady = checkReady;
    this.#now = now;
  }

  /**
   * The state as of now. Without `checkReady`, an open circuit whose pause has passed reads as
   * half-open (the next call probes); with it, the circuit stays open until the backend says ready.
   */
  get state(): BreakerState {
    if (this.#state === 'open' && this.#checkReady === undefined && this.#now() >= this.#nextCheckAt) return 'half-open';
    return this.#state;
  }

  /** The longest a client should wait before retrying, in ms: the pause before the next check. */
  get retryAfterMs(): number {
    if (this.#state === 'closed') return 0;
    return Math.max(this.#probeMinMs, this.#nextCheckAt - this.#now());
  }

  /**
   * Asks to make a call; every allowed call must end in {@link onSuccess} or {@link onFailure}. On an
   * open circuit whose check is due, this call runs the readiness check and, when the backend is
   * ready, goes through as the probe; calls arriving meanwhile are rejected at once.
   */
  async acquire(): Promise<BreakerAdmission> {
    if (this.#state === 'open' && this.#checkReady !== undefined && this.#checking === undefined && this.#now() >= this.#nextCheckAt) {
      const check = this.#checkReady();
      this.#checking = check;
      let ready = false;
      try {
        ready = await check;
      } finally {
        this.#checking = undefined;
      }
      // Ready: the circuit is half-open and admit() lets this call through as the probe.
      if (ready) this.reportReady();
      else this.#scheduleCheck();
    }
    return this.admit();
  }

  /** Admission without a readiness check: what {@link acquire} decides when no check is due. */
  admit(): BreakerAdmission {
    const state = this.state;
    if (state === 'closed') return { allowed: true, probe: false };
    if (state === 'half-open' && !this.#probeInFlight) {
      this.#state = 'half-open';
      this.#probeInFlight = true;
      return { allowed: true, probe: true };
    }
    return { allowed: false, retryAfterMs: this.retryAfterMs };
  }

  /** The backend said it is ready (a check here, or the edge's `/healthz`): an open circuit turns half-open. */
  reportReady(): void {
    if (this.#state === 'open') this.#state = 'half-open';
  }

  /** The call reached a healthy backend: the circuit closes and the failure count resets. */
  onSuccess(): void {
    this.#failures = 0;
    this.#attempts = 0;
    this.#probeInFlight = false;
    this.#state = 'closed';
  }

  /** The call failed (connect error, timeout, 5xx): counts toward opening; a failed probe re-opens. */
  onFailure(): void {
    const wasProbe = this.#probeInFlight;
    this.#probeInFlight = false;
    this.#failures += 1;
    if (this.#state === 'closed' && this.#failures >= this.#threshold) {
      this.#state = 'open';
      this.#attempts = 0;
      // With a readiness check the first one is due at once: a backend that merely restarted is seen
      // as soon as it is up. Without one, the next call probes after the first pause.
      if (this.#checkReady === undefined) this.#scheduleCheck();
      else this.#nextCheckAt = this.#now();
    } else if (this.#state === 'half-open' && wasProbe) {
      this.#state = 'open';
      this.#scheduleCheck();
    }
  }

  #scheduleCheck(): void {
    const pause = Math.min(this.#probeMaxMs, this.#probeMinMs * 2 ** this.#attempts);
    this.#attempts += 1;
    this.#nextCheckAt = this.#now() + pause;
  }
}
