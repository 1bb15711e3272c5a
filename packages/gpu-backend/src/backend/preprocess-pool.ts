/**
 * A pool of pre-processing threads (`preprocess-worker.ts`), one task per thread at a time, tasks served
 * in arrival order. Tasks whose caller has gone are skipped before they start. A thread that dies is
 * replaced, and only the task it was running fails.
 */
import type { Worker } from 'node:worker_threads';
import { QueueRejection } from '../batching/errors.js';
import { ImageInputError } from '../models/errors.js';
import type { Logger } from '../metrics/logger.js';
import type { FromPreprocess, PreprocessInit, PreprocessTask, ToPreprocess } from './preprocess-protocol.js';
import { startThread } from './threads.js';
import type { ImageModel, PreprocessOptions } from './types.js';
import type { JpegDecoderStatus } from '../models/jpeg-native.js';

const WORKER_URL = new URL('./preprocess-worker.ts', import.meta.url);

type Answer = Extract<FromPreprocess, { kind: 'pixels' | 'tokens' }>;

interface Task {
  id: number;
  task: PreprocessTask;
  /** The buffers its message moves to the thread: the tensor to write into, and the image's bytes when given away. */
  transfer: ArrayBuffer[];
  signal: AbortSignal | undefined;
  resolve: (answer: Answer) => void;
  reject: (error: Error) => void;
  detach: () => void;
}

/** Whether `bytes` is the whole of an `ArrayBuffer` (not a view of part of one, nor shared memory). */
function wholeBuffer(bytes: Uint8Array): bytes is Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
}

function transferOf(task: PreprocessTask, bytes: ArrayBuffer | undefined): ArrayBuffer[] {
  const list: ArrayBuffer[] = [];
  if (task.kind === 'image' && task.into !== undefined) list.push(task.into);
  if (bytes !== undefined) list.push(bytes);
  return list;
}

interface Slot {
  worker: Worker;
  current: Task | undefined;
  tid: number | undefined;
}

export interface PreprocessPoolOptions {
  threads: number;
  init: PreprocessInit;
  logger: Logger;
}

interface Started {
  worker: Worker;
  tid: number | undefined;
  jpegDecoder: JpegDecoderStatus;
}

/** Starts one thread and resolves once it has loaded the model folders, or rejects with why it could not. */
async function startWorker(init: PreprocessInit, index: number): Promise<Started> {
  const worker = startThread(WORKER_URL, init, `preprocess:${index}`);
  const first = await new Promise<FromPreprocess>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => { reject(new Error(`pre-processing thread exited with code ${code} while starting`)); });
  });
  if (first.kind === 'ready') return { worker, tid: first.tid, jpegDecoder: first.jpegDecoder };
  await worker.terminate();
  throw new Error(first.kind === 'failed' ? first.message : `bug: pre-processing thread sent ${first.kind} before ready`);
}

export class PreprocessPool {
  readonly #init: PreprocessInit;
  readonly #logger: Logger;
  readonly #slots = new Set<Slot>();
  #queue: Task[] = [];
  #nextId = 0;
  #started = 0;
  #closing = false;
  #drained: (() => void) | undefined;

  /** What the threads decode JPEGs with (the first thread's report; every thread loads the same addon). */
  readonly jpegDecoder: JpegDecoderStatus;

  private constructor(workers: Started[], options: PreprocessPoolOptions) {
    this.jpegDecoder = workers.find((w) => w.jpegDecoder.decoder === 'sharp')?.jpegDecoder ?? workers[0]?.jpegDecoder ?? { decoder: 'sharp', reason: 'no pre-processing thread' };
    this.#init = options.init;
    this.#logger = options.logger;
    for (const worker of workers) this.#adopt(worker);
    this.#started = workers.length;
  }

  /** Starts `threads` threads; rejects (after stopping those that started) if any cannot load the models. */
  static async start(options: PreprocessPoolOptions): Promise<PreprocessPool> {
    const results = await Promise.allSettled(Array.from({ length: options.threads }, (_, i) => startWorker(options.init, i)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.worker.terminate()] : [])));
      throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    }
    return new PreprocessPool(
      results.map((r) => (r as PromiseFulfilledResult<Started>).value),
      options,
    );
  }

  get threads(): number {
    return this.#slots.size;
  }

  /** Each thread's event-loop totals (ms): busy while it decodes, resizes or tokenises; and its kernel id. */
  eventLoops(): Array<{ active: number; idle: number; tid?: number }> {
    return [...this.#slots].map(({ worker, tid }) => {
      const { active, idle } = worker.performance.eventLoopUtilization();
      return { active, idle, ...(tid !== undefined ? { tid } : {}) };
    });
  }

  /** Tasks waiting for a thread. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Decodes one image and pre-processes it for `model`, into `options.into` when given (a buffer of
   * the tensor's size, transferred to the thread: the caller must not use it again). With
   * `options.transfer`, `bytes` that fill their whole buffer are transferred too, not copied. With
   * `options.sha256`, the thread hashes the bytes before decoding them and refuses other bytes
   * (`digest_mismatch`); the digest it computed confirms the claim.
   */
  async preprocessImage(model: ImageModel, bytes: Uint8Array, options: PreprocessOptions & { into?: ArrayBuffer } = {}): Promise<Float32Array> {
    // Copied to the thread unless the caller gives its bytes away (`transfer`) and they fill their buffer.
    const own = options.transfer === true && wholeBuffer(bytes) ? bytes.buffer : undefined;
    const task: PreprocessTask = {
      kind: 'image',
      model,
      bytes,
      ...(options.into !== undefined ? { into: options.into } : {}),
      ...(options.sha256 !== undefined ? { sha256: options.sha256.expected } : {}),
    };
    const answer = await this.#submit(task, options.signal, own);
    if (answer.kind !== 'pixels') throw new Error(`bug: image task answered ${answer.kind}`);
    if (options.sha256 !== undefined) {
      if (answer.sha256 === undefined) throw new Error('bug: an image task given a sha-256 to check answered without one');
      options.sha256.confirm(answer.sha256);
    }
    return answer.pixels;
  }

  /** Token ids per text. */
  async tokenize(texts: readonly string[], options: PreprocessOptions = {}): Promise<number[][]> {
    const answer = await this.#submit({ kind: 'tokenize', texts }, options.signal);
    if (answer.kind !== 'tokens') throw new Error(`bug: tokenize task answered ${answer.kind}`);
    return answer.ids;
  }

  /** Finishes queued and running tasks, then stops the threads. */
  async close(): Promise<void> {
    this.#closing = true;
    if (this.#queue.length > 0 || [...this.#slots].some((s) => s.current)) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
    const slots = [...this.#slots];
    this.#slots.clear();
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #submit(task: PreprocessTask, signal: AbortSignal | undefined, bytes?: ArrayBuffer): Promise<Answer> {
    if (this.#closing) return Promise.reject(new QueueRejection('not_ready', 'the server is shutting down'));
    if (signal?.aborted) return Promise.reject(new QueueRejection('client_gone', 'the client closed the request'));
    return new Promise<Answer>((resolve, reject) => {
      const entry: Task = { id: this.#nextId++, task, transfer: transferOf(task, bytes), signal, resolve, reject, detach: () => {} };
      if (signal) {
        const onAbort = () => {
          const i = this.#queue.indexOf(entry);
          if (i < 0) return; // already running: let it finish, nobody reads the answer
          this.#queue.splice(i, 1);
          entry.detach();
          reject(new QueueRejection('client_gone', 'the client closed the request'));
          this.#checkDrained();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => { signal.removeEventListener('abort', onAbort); };
      }
      this.#queue.push(entry);
      this.#dispatch();
    });
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      while (!slot.current) {
        const next = this.#queue.shift();
        if (!next) return;
        const message: ToPreprocess = { id: next.id, task: next.task };
        try {
          slot.worker.postMessage(message, next.transfer);
          slot.current = next;
        } catch (error) {
          // A task that cannot be sent (e.g. a detached buffer) fails alone; the thread stays free.
          next.detach();
          next.reject(error instanceof Error ? error : new Error(String(error)));
        }
      }
    }
  }

  #adopt({ worker, tid }: Started): void {
    const slot: Slot = { worker, current: undefined, tid };
    this.#slots.add(slot);
    worker.on('message', (message: FromPreprocess) => { this.#onMessage(slot, message); });
    worker.on('error', (error) => { this.#logger.error('pre-processing thread failed', { error }); });
    worker.on('exit', (code) => { this.#onExit(slot, code); });
  }

  #onMessage(slot: Slot, message: FromPreprocess): void {
    if (message.kind === 'ready' || message.kind === 'failed') return;
    const task = slot.current;
    if (!task || task.id !== message.id) throw new Error(`bug: pre-processing answer ${message.id} matches no running task`);
    slot.current = undefined;
    task.detach();
    switch (message.kind) {
      case 'pixels':
      case 'tokens':
        task.resolve(message);
        break;
      case 'image-error':
        task.reject(new ImageInputError(message.type, message.message));
        break;
      case 'error':
        task.reject(new Error(`pre-processing failed: ${message.message}`));
        break;
    }
    this.#dispatch();
    this.#checkDrained();
  }

  #onExit(slot: Slot, code: number): void {
    if (!this.#slots.delete(slot)) return; // stopped by close()
    const task = slot.current;
    if (task) {
      task.detach();
      task.reject(new Error(`the pre-processing thread died (exit code ${code}) while working on this request`));
    }
    this.#logger.error('pre-processing thread exited; starting a replacement', { code });
    if (this.#closing) {
      this.#checkDrained();
      return;
    }
    const index = this.#started++;
    startWorker(this.#init, index).then(
      (started) => {
        if (this.#closing) {
          void started.worker.terminate();
          return;
        }
        this.#adopt(started);
        this.#dispatch();
      },
      (error: unknown) => {
        this.#logger.error('could not replace a pre-processing thread', { error });
        if (this.#slots.size === 0) {
          for (const t of this.#queue.splice(0)) {
            t.detach();
            t.reject(new Error('no pre-processing thread is running'));
          }
          this.#checkDrained();
        }
      },
    );
  }

  #checkDrained(): void {
    if (!this.#drained) return;
    if (this.#queue.length > 0 || [...this.#slots].some((s) => s.current)) return;
    const done = this.#drained;
    this.#drained = undefined;
    done();
  }
}
