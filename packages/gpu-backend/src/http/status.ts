/**
 * The server's life cycle as the HTTP layer sees it: starting (sessions loading and warming up), ready,
 * draining (after SIGTERM: no new work, finish what was admitted). It also counts requests in flight, so
 * shutdown can wait for them.
 */
import type { HealthAnswer, Phase } from '@coyo/backend-protocol';
import type { Engine } from '../batching/engine.js';
import type { ModelsInfo } from '../backend/types.js';

export type { Phase };

export class ServerStatus {
  #phase: Phase = 'starting';
  #engine: Engine | undefined;
  #inFlight = 0;
  #idleWaiters: Array<() => void> = [];

  /** `models` is known before the sessions load (it comes from the model folders' JSON files). */
  constructor(readonly models: ModelsInfo) {}

  get phase(): Phase {
    return this.#phase;
  }

  /** The engine, once warm-up has finished. */
  get engine(): Engine | undefined {
    return this.#engine;
  }

  /** What `/healthz` answers: known before the sessions load, so it answers from the start. */
  health(): HealthAnswer {
    const { testModels, warning } = this.models;
    const device = this.#engine?.backend.device;
    const jpegDecoder = this.#engine?.backend.jpegDecoder;
    return {
      status: 'ok',
      test_models: testModels,
      ...(warning !== undefined ? { warning } : {}),
      ...(device !== undefined ? { device } : {}),
      ...(jpegDecoder !== undefined ? { jpeg_decoder: jpegDecoder } : {}),
    };
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Opens the `/v1/*` routes; `/readyz` turns 200. */
  markReady(engine: Engine): void {
    if (this.#phase === 'draining') return;
    this.#engine = engine;
    this.#phase = 'ready';
  }

  /** Stops admitting new work; `/readyz` turns 503. */
  beginDrain(): void {
    this.#phase = 'draining';
    this.#notifyIfIdle();
  }

  /** Counts a request in; returns the function that counts it out. */
  enter(): () => void {
    this.#inFlight += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.#inFlight -= 1;
      this.#notifyIfIdle();
    };
  }

  /** Resolves when no request is in flight. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #notifyIfIdle(): void {
    if (this.#inFlight !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
