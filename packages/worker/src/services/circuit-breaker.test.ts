import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker';

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** A readiness check the test answers, counting how often it was asked. */
function readiness(initial: boolean) {
  const r = { ready: initial, checks: 0, check: () => ((r.checks += 1), Promise.resolve(r.ready)) };
  return r;
}

function openBreaker(b: CircuitBreaker, failures: number): void {
  for (let i = 0; i < failures; i++) b.onFailure();
}

describe('CircuitBreaker', () => {
  it('stays closed below the failure threshold', async () => {
    const b = new CircuitBreaker({ failureThreshold: 3 });
    openBreaker(b, 2);
    expect(b.state).toBe('closed');
    expect(await b.acquire()).toEqual({ allowed: true, probe: false });
  });

  it('a success resets the consecutive count', () => {
    const b = new CircuitBreaker({ failureThreshold: 2 });
    b.onFailure();
    b.onSuccess();
    b.onFailure();
    expect(b.state).toBe('closed');
  });

  it('checks readiness at once when it opens and lets the checking call through as the probe', async () => {
    const c = clock();
    const r = readiness(true);
    const b = new CircuitBreaker({ failureThreshold: 2, checkReady: r.check, now: c.now });
    openBreaker(b, 2);
    expect(b.state).toBe('open');
    expect(await b.acquire()).toEqual({ allowed: true, probe: true });
    expect(r.checks).toBe(1);
    expect(b.state).toBe('half-open');
    b.onSuccess();
    expect(b.state).toBe('closed');
  });

  it('stays open while the backend is not ready, checking with a doubling pause up to probeMaxMs', async () => {
    const c = clock();
    const r = readiness(false);
    const b = new CircuitBreaker({ failureThreshold: 1, probeMinMs: 50, probeMaxMs: 300, checkReady: r.check, now: c.now });
    b.onFailure();
    const pauses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const admission = await b.acquire();
      expect(admission.allowed).toBe(false);
      if (admission.allowed) throw new Error('unreachable');
      pauses.push(admission.retryAfterMs);
      // Calls before the pause has passed are refused without asking the backend.
      const checks = r.checks;
      expect((await b.acquire()).allowed).toBe(false);
      expect(r.checks).toBe(checks);
      c.advance(admission.retryAfterMs);
    }
    expect(pauses).toEqual([50, 100, 200, 300, 300]);
    expect(r.checks).toBe(5);
    expect(b.state).toBe('open');
  });

  it('serves again within probeMaxMs of the backend becoming ready, however long it was down', async () => {
    const c = clock();
    const r = readiness(false);
    const b = new CircuitBreaker({ failureThreshold: 1, probeMaxMs: 500, checkReady: r.check, now: c.now });
    b.onFailure();
    // Ten minutes down, with a call every 100 ms.
    for (let t = 0; t < 600_000; t += 100) {
      expect((await b.acquire()).allowed).toBe(false);
      c.advance(100);
    }
    r.ready = true;
    let waited = 0;
    while (!(await b.acquire()).allowed) {
      c.advance(100);
      waited += 100;
    }
    expect(waited).toBeLessThanOrEqual(500);
  });

  it('asks readiness once for calls that arrive together and refuses the others at once', async () => {
    const c = clock();
    let answer: (ready: boolean) => void = () => {};
    let checks = 0;
    const checkReady = () => {
      checks += 1;
      return new Promise<boolean>((resolve) => (answer = resolve));
    };
    const b = new CircuitBreaker({ failureThreshold: 1, checkReady, now: c.now });
    b.onFailure();
    const first = b.acquire();
    expect((await b.acquire()).allowed).toBe(false);
    expect((await b.acquire()).allowed).toBe(false);
    answer(true);
    expect(await first).toEqual({ allowed: true, probe: true });
    expect(checks).toBe(1);
    // The probe is in flight: others still wait for its outcome.
    expect((await b.acquire()).allowed).toBe(false);
  });

  it('re-opens with a longer pause when the probe call fails although the backend said ready', async () => {
    const c = clock();
    const r = readiness(true);
    const b = new CircuitBreaker({ failureThreshold: 1, probeMinMs: 50, checkReady: r.check, now: c.now });
    b.onFailure();
    expect((await b.acquire()).allowed).toBe(true);
    b.onFailure();
    expect(b.state).toBe('open');
    expect(await b.acquire()).toEqual({ allowed: false, retryAfterMs: 50 });
    c.advance(50);
    expect(await b.acquire()).toEqual({ allowed: true, probe: true });
    b.onFailure();
    expect(await b.acquire()).toEqual({ allowed: false, retryAfterMs: 100 });
  });

  it('turns half-open when readiness is reported from elsewhere (the edge /healthz)', async () => {
    const r = readiness(false);
    const b = new CircuitBreaker({ failureThreshold: 1, checkReady: r.check });
    b.onFailure();
    expect((await b.acquire()).allowed).toBe(false);
    b.reportReady();
    expect(b.state).toBe('half-open');
    expect(await b.acquire()).toEqual({ allowed: true, probe: true });
  });

  it('without a readiness check, lets exactly one probe through after the pause', async () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 1, probeMinMs: 100, now: c.now });
    b.onFailure();
    expect(await b.acquire()).toEqual({ allowed: false, retryAfterMs: 100 });
    c.advance(100);
    expect(b.state).toBe('half-open');
    expect(await b.acquire()).toEqual({ allowed: true, probe: true });
    expect((await b.acquire()).allowed).toBe(false);
    b.onSuccess();
    expect(await b.acquire()).toEqual({ allowed: true, probe: false });
  });
});
