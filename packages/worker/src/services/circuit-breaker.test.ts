import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker';

function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('CircuitBreaker', () => {
  it('stays closed below the failure threshold', () => {
    const b = new CircuitBreaker({ failureThreshold: 3 });
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe('closed');
    expect(b.acquire()).toEqual({ allowed: true, probe: false });
  });

  it('opens after the threshold of consecutive failures and rejects with the time left', () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 5000, now: c.now });
    b.onFailure();
    b.onFailure();
    expect(b.state).toBe('open');
    c.advance(1000);
    expect(b.acquire()).toEqual({ allowed: false, retryAfterMs: 4000 });
  });

  it('a success resets the consecutive count', () => {
    const b = new CircuitBreaker({ failureThreshold: 2 });
    b.onFailure();
    b.onSuccess();
    b.onFailure();
    expect(b.state).toBe('closed');
  });

  it('lets exactly one probe through after the cooldown', () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, now: c.now });
    b.onFailure();
    c.advance(100);
    expect(b.state).toBe('half-open');
    expect(b.acquire()).toEqual({ allowed: true, probe: true });
    expect(b.acquire().allowed).toBe(false);
  });

  it('closes when the probe succeeds', () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, now: c.now });
    b.onFailure();
    c.advance(100);
    b.acquire();
    b.onSuccess();
    expect(b.state).toBe('closed');
    expect(b.acquire()).toEqual({ allowed: true, probe: false });
  });

  it('re-opens for a full cooldown when the probe fails', () => {
    const c = clock();
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 100, now: c.now });
    b.onFailure();
    b.onFailure();
    b.onFailure();
    c.advance(150);
    b.acquire();
    b.onFailure();
    expect(b.state).toBe('open');
    expect(b.acquire()).toEqual({ allowed: false, retryAfterMs: 100 });
  });
});
