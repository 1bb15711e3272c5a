/**
 * Frees decoded images with young-generation collections instead of full ones.
 *
 * sharp hands each decoded image back as an external Buffer (`napi_create_external_buffer`): V8 counts its
 * bytes as external memory until the Buffer is collected, and once external memory has grown by 64 MB since
 * the last full collection it starts a full one (mark-compact), which marks the thread's whole heap (the
 * modules, the tokenizer) on the thread and on V8's helper threads. With the bench's images that was one
 * full collection per ≈ 45 images in each pre-processing thread. The Buffers die young, so a scavenge,
 * which only visits live young objects, frees them as well (V8 sweeps a scavenge's dead array buffers after
 * it, so their memory is released by the next one): one every `budgetBytes` of decoded images keeps external
 * memory under two budgets, below the full collection's trigger. Measured on the bench's ViT requests
 * (c=8, two servers interleaved): 10–14 % less CPU per image for the whole server.
 *
 * The scavenge is requested through V8's `gc` extension, enabled at start (`--expose-gc`: V8's flags are
 * process-wide, so contexts created afterwards, in any thread, get a global `gc`; one is made here to
 * fetch it). Where the runtime refuses, {@link YoungCollector.available} is false and `track` does nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let cached: GcFunction | null | undefined;

/** V8's `gc` function, or null when this runtime does not expose it. */
function gcFunction(): GcFunction | null {
  if (cached !== undefined) return cached;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    cached = typeof gc === 'function' ? (gc as GcFunction) : null;
  } catch {
    cached = null;
  }
  return cached;
}

/** Default decoded bytes between scavenges: a quarter of V8's 64 MB external-memory trigger. */
export const YOUNG_COLLECTION_BUDGET_BYTES = 16 * 1024 * 1024;

export class YoungCollector {
  readonly #budget: number;
  readonly #gc: GcFunction | null;
  #pending = 0;
  #collections = 0;

  constructor(budgetBytes = YOUNG_COLLECTION_BUDGET_BYTES) {
    if (!Number.isSafeInteger(budgetBytes) || budgetBytes < 1) throw new RangeError(`budgetBytes must be a positive integer, got ${budgetBytes}`);
    this.#budget = budgetBytes;
    this.#gc = gcFunction();
  }

  /** Whether scavenges can be requested here. */
  get available(): boolean {
    return this.#gc !== null;
  }

  /** Scavenges requested so far. */
  get collections(): number {
    return this.#collections;
  }

  /**
   * Counts `bytes` of external memory that are garbage now (a decoded image already copied elsewhere);
   * scavenges once the count reaches the budget. Call it after the last use of the Buffer.
   */
  track(bytes: number): void {
    if (this.#gc === null) return;
    this.#pending += bytes;
    if (this.#pending < this.#budget) return;
    this.#pending = 0;
    this.#collections++;
    this.#gc({ type: 'minor' });
  }
}
