/**
 * The main thread's handle on one session thread (`session-worker.ts`): sends runs, matches answers to
 * callers, and shuts the thread down in the only safe order — wait for runs in flight, release the
 * session, let the thread end. Terminating a thread during a run would abort the whole process.
 */
import type { Worker } from 'node:worker_threads';
import type { DeviceChoice } from '../config.js';
import { startThread } from './threads.js';
import { transferList, type FromSession, type SessionInit, type ToSession, type ValueInfo, type WireOutput, type WireTensor } from './session-protocol.js';
import type { Device } from './types.js';
import { WEBGPU_LOCK } from './webgpu-lock.js';

const WORKER_URL = new URL('./session-worker.ts', import.meta.url);

/**
 * Sizes of finished input buffers a host keeps, the most recently returned: one image (the buffers
 * the pre-processing threads write into), a full batch and the last partial one cover a tower under load.
 */
export const MAX_SPARE_SIZES = 3;

/**
 * Bytes of spare buffers of one size a host keeps beyond the first: single images (1.7 MB for ViT) are
 * kept several deep, one per image in flight, a full batch (57 MB for 32 ViT images) only once.
 */
export const SPARE_BYTES_PER_SIZE = 16 * 1024 * 1024;

export interface SessionHostOptions {
  /** Names the thread and messages, e.g. `align-vision`. */
  name: string;
  modelPath: string;
  device: DeviceChoice;
  intraOpThreads: number;
  /** `ORT_ALLOW_SPINNING`: let idle onnxruntime threads busy-wait (default: they sleep). */
  allowSpinning?: boolean;
  /**
   * Called once if the thread dies while the session is open (not on `close()`): its model cannot
   * serve again, so the server should stop being ready and let its orchestrator replace it.
   */
  onDeath?: (error: Error) => void;
  /** The thread's module; the default runs the real session. Tests inject a failing one. */
  module?: URL;
}

interface Pending {
  resolve: (outputs: Record<string, WireOutput>) => void;
  reject: (error: Error) => void;
}

/** A tensor whose buffer it owns entirely, so transferring that buffer detaches nothing else. */
function ownBuffer(tensor: WireTensor): WireTensor {
  const { data } = tensor;
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return tensor;
  return tensor.type === 'float32'
    ? { type: 'float32', data: new Float32Array(tensor.data), dims: tensor.dims }
    : { type: 'int64', data: new BigInt64Array(tensor.data), dims: tensor.dims };
}

export class SessionHost {
  readonly name: string;
  readonly device: Device;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** Why `auto` passed over faster providers (`cuda: …; webgpu: …`), when it did. */
  readonly fallback: string | undefined;
  /** The session thread's kernel id (Linux). */
  readonly tid: number | undefined;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #exited: Promise<void>;
  #nextId = 0;
  /** Free input buffers by size, the size returned most recently last (see {@link MAX_SPARE_SIZES}). */
  readonly #spare = new Map<number, ArrayBuffer[]>();
  #closing: Promise<void> | undefined;
  #dead: Error | undefined;
  #onClosed: (() => void) | undefined;
  readonly #onDeath: ((error: Error) => void) | undefined;

  private constructor(
    worker: Worker,
    ready: Extract<FromSession, { kind: 'ready' }>,
    name: string,
    exited: Promise<void>,
    onDeath: ((error: Error) => void) | undefined,
  ) {
    this.#onDeath = onDeath;
    this.#worker = worker;
    this.name = name;
    this.device = ready.device;
    this.inputs = ready.inputs;
    this.outputs = ready.outputs;
    this.fallback = ready.fallback;
    this.tid = ready.tid;
    this.#exited = exited;
    worker.on('message', (message: FromSession) => { this.#onMessage(message); });
    worker.on('error', (error) => { this.#fail(new Error(`${name} session thread crashed: ${error.message}`)); });
    void exited.then(() => { this.#fail(new Error(`${name} session thread exited`)); });
  }
  /** The session thread's event-loop totals (ms): busy while a run blocks it; and its kernel id. */
  eventLoop(): { active: number; idle: number; tid?: number } {
    const { active, idle } = this.#worker.performance.eventLoopUtilization();
    return { active, idle, ...(this.tid !== undefined ? { tid: this.tid } : {}) };
  }


  /** Starts the thread and loads the model there; resolves once the session exists. */
  static async start(options: SessionHostOptions): Promise<SessionHost> {
    const init: SessionInit = {
      name: options.name,
      modelPath: options.modelPath,
      device: options.device,
      intraOpThreads: options.intraOpThreads,
      allowSpinning: options.allowSpinning ?? false,
      webgpuLock: WEBGPU_LOCK,
    };
    const worker = startThread(options.module ?? WORKER_URL, init, `session:${options.name}`);
    const exited = new Promise<void>((resolve) => worker.once('exit', () => { resolve(); }));
    const first = await new Promise<FromSession>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      void exited.then(() => { reject(new Error(`${options.name} session thread exited while loading ${options.modelPath}`)); });
    });
    if (first.kind === 'failed') {
      await exited;
      throw new Error(`${options.name}: could not load ${options.modelPath}: ${first.message}`);
    }
    if (first.kind !== 'ready') throw new Error(`bug: ${options.name} session thread sent ${first.kind} before ready`);
    return new SessionHost(worker, first, options.name, exited, options.onDeath);
  }

  /** Runs the model once; resolves with its outputs as float32. */
  run(feeds: Record<string, WireTensor>): Promise<Record<string, WireOutput>> {
    if (this.#closing) return Promise.reject(new Error(`${this.name} session is closing or closed`));
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    const owned = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, ownBuffer(t)]));
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const message: ToSession = { kind: 'run', id, feeds: owned };
      this.#worker.postMessage(message, transferList(Object.values(owned)));
    });
  }

  /**
   * An input buffer of exactly `byteLength` bytes that an earlier run has finished with, if one is
   * free. Stacking a batch into a reused buffer costs a copy; into a new one it also costs the page
   * faults and zeroing of a fresh allocation, 5–6× more for a batch of 32 ViT images (57 MB), all on
   * the event loop.
   */
  takeSpare(byteLength: number): ArrayBuffer | undefined {
    return this.#spare.get(byteLength)?.pop();
  }

  /**
   * Keeps `buffers` (the caller's, never to be used by it again) for {@link takeSpare}: the images of
   * a batch once stacked, which would otherwise be garbage.
   */
  giveSpare(buffers: readonly ArrayBuffer[]): void {
    this.#keepSpare(buffers);
  }

  /** Runs in flight. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Waits for runs in flight, releases the session and waits for the thread to end. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#dead) return this.#exited;
    // The thread handles messages in order: `close` is only acted on after every run sent before it.
    const closed = new Promise<void>((resolve) => {
      this.#onClosed = resolve;
    });
    const message: ToSession = { kind: 'close' };
    this.#worker.postMessage(message);
    await Promise.race([closed, this.#exited]);
    await this.#exited;
  }

  #onMessage(message: FromSession): void {
    switch (message.kind) {
      case 'result':
      case 'error': {
        const pending = this.#pending.get(message.id);
        if (!pending) throw new Error(`bug: ${this.name} answered unknown run ${message.id}`);
        this.#pending.delete(message.id);
        if (message.kind === 'result') {
          this.#keepSpare(message.spent);
          pending.resolve(message.outputs);
        } else pending.reject(new Error(`${this.name} run failed: ${message.message}`));
        return;
      }
      case 'closed':
        this.#onClosed?.();
        return;
      case 'ready':
      case 'failed':
        throw new Error(`bug: ${this.name} session thread sent ${message.kind} twice`);
    }
  }

  #keepSpare(buffers: readonly ArrayBuffer[]): void {
    for (const buffer of buffers) {
      const size = buffer.byteLength;
      if (size === 0) continue; // detached
      const list = this.#spare.get(size) ?? [];
      this.#spare.delete(size); // re-inserted last: the most recently used size
      if (list.length < Math.max(1, Math.floor(SPARE_BYTES_PER_SIZE / size))) list.push(buffer);
      this.#spare.set(size, list);
    }
    for (const size of this.#spare.keys()) {
      if (this.#spare.size <= MAX_SPARE_SIZES) break;
      this.#spare.delete(size);
    }
  }

  #fail(error: Error): void {
    const first = this.#dead === undefined;
    this.#dead ??= error;
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    if (first && this.#closing === undefined) this.#onDeath?.(error);
  }
}
