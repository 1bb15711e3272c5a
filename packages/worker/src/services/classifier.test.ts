import { describe, expect, it } from 'vitest';
import { rejectionProblem } from '../../test/helpers';
import type { BackendModels, Classifications, DigestConfirmation, StreamedImage } from './backend-client';
import { ClassificationCache, CLASSIFY_CACHE_MIN_DEPTH, CLASSIFY_MAX_TOP_K, newClassificationLrus, type ClassificationLrus } from './classification-cache';
import { Classifier } from './classifier';
import type { CacheStore } from './kv-lru-cache';
import type { IntakeImage } from './image-intake';
import { ModelInfoCache, type ModelInfoStore } from './model-info';

const VIT = 'vit-large-patch16-384';
const REVISION = '0123456789abcdef';
const LABELS_KEY = `cls:v1:${VIT}:${REVISION}:labels`;

type Prediction = Classifications['predictions'][number][number];

/** KV in a Map: these tests are about what the classifier asks for, not about KV. */
function memoryStore(): CacheStore & ModelInfoStore & { data: Map<string, { bytes: Uint8Array; metadata: unknown }>; writes: string[] } {
  const data = new Map<string, { bytes: Uint8Array; metadata: unknown }>();
  const writes: string[] = [];
  return {
    data,
    writes,
    // The store answers whatever metadata was put; the caller names the type it expects.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters
    getWithMetadata<M>(key: string) {
      const hit = data.get(key);
      return Promise.resolve({ value: hit ? hit.bytes.slice().buffer : null, metadata: (hit?.metadata ?? null) as M | null });
    },
    get(key: string) {
      const hit = data.get(key);
      return Promise.resolve(hit ? new TextDecoder().decode(hit.bytes) : null);
    },
    put(key: string, value: ArrayBuffer | ArrayBufferView | string, options?: { metadata?: unknown }) {
      const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : ArrayBuffer.isView(value) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice() : new Uint8Array(value);
      data.set(key, { bytes, metadata: options?.metadata });
      writes.push(key);
      return Promise.resolve();
    },
    delete(key: string) {
      data.delete(key);
      return Promise.resolve();
    },
  };
}

interface FakeBackendOptions {
  /** How many classes the model has. */
  classes?: number;
  /** Whether `/v1/models` reports `num_labels` (an older backend may not). */
  reportsNumLabels?: boolean;
  /** Replaces the ranking of an image, to make the backend break the protocol. */
  answer?: (image: IntakeImage, topK: number) => Prediction[];
}

/**
 * A backend whose ranking of an image is a function of its first byte, honouring `top_k` as the real
 * one does (capped at the class count); it records what it was asked.
 */
function fakeBackend({ classes = 300, reportsNumLabels = true, answer }: FakeBackendOptions = {}) {
  const asked: { images: number; topK: number }[] = [];
  const rank = (image: IntakeImage, topK: number) => answer?.(image, topK) ?? ranking(image, classes).slice(0, Math.min(topK, classes));
  return {
    asked,
    topKs: () => asked.map((a) => a.topK),
    models(): Promise<BackendModels> {
      const vit = { id: VIT, task: 'image-classification', revision: REVISION, ...(reportsNumLabels ? { num_labels: classes } : {}) };
      return Promise.resolve({ device: 'cpu', test_models: true, models: [vit] });
    },
    classify(images: readonly IntakeImage[], topK: number): Promise<Classifications> {
      asked.push({ images: images.length, topK });
      return Promise.resolve({ model: VIT, revision: REVISION, predictions: images.map((img) => rank(img, topK)) });
    },
    /** Reads the streamed body and confirms the claimed digest without checking it (the routes' tests check real digests). */
    async classifyStream(image: StreamedImage, topK: number): Promise<Classifications & DigestConfirmation> {
      const bytes = new Uint8Array(await new Response(image.takeStream()).arrayBuffer());
      asked.push({ images: 1, topK });
      const intake: IntakeImage = { bytes, type: 'image/png', sha256: image.sha256, dimensions: null };
      return { model: VIT, revision: REVISION, predictions: [rank(intake, topK)], verifiedSha256: image.sha256 };
    },
  };
}

/** Every class, best first: the class of the image's first byte, then the following ones. */
function ranking(image: IntakeImage, classes: number): Prediction[] {
  const first = (image.bytes[0] ?? 0) % classes;
  return Array.from({ length: classes }, (_, rank) => {
    const index = (first + rank) % classes;
    return { label: `class ${index}`, score: 0.5 / (rank + 1), index };
  });
}

/** What the API answers for `topK`: the backend's own `top_k` list, without indices. */
function expected(image: IntakeImage, topK: number, classes = 300) {
  return ranking(image, classes)
    .slice(0, topK)
    .map(({ label, score }) => ({ label, score }));
}

function image(first: number): IntakeImage {
  return { bytes: Uint8Array.from([first, 1, 2, 3]), type: 'image/png', sha256: `sha-${first}`, dimensions: null };
}

function setup(backend = fakeBackend(), store = memoryStore(), lrus: ClassificationLrus = newClassificationLrus()) {
  const pending: Promise<unknown>[] = [];
  const defer = (p: Promise<unknown>) => void pending.push(p);
  const modelInfo = new ModelInfoCache({ ttlSeconds: 300 });
  const classifier = () =>
    new Classifier({
      backend,
      cache: new ClassificationCache({ store, lrus, ttlSeconds: 3600, defer }),
      modelInfo,
      modelInfoStore: store,
      call: { requestId: 'test', deadline: Date.now() + 10_000 },
      defer,
    });
  return { backend, store, lrus, classifier, flush: () => Promise.all(pending) };
}

/** A setup whose label table already names every class (filled by one earlier miss). */
async function warmSetup(backend = fakeBackend()) {
  const s = setup(backend);
  await s.classifier().classify([image(255)], 1);
  await s.flush();
  backend.asked.length = 0;
  return s;
}

describe('Classifier depth', () => {
  it('asks the backend for the minimum depth on a small top_k and answers the backend’s own top_k list', async () => {
    const { backend, classifier } = await warmSetup();
    const c = classifier();
    expect(await c.classify([image(2)], 3)).toEqual([expected(image(2), 3)]);
    expect(backend.topKs()).toEqual([CLASSIFY_CACHE_MIN_DEPTH]);
    expect(c.cacheStatus).toBe('miss');
  });

  it('serves top_k 1 then 5 from one call, recomputes for 250, then serves 5 from the deeper entry', async () => {
    const { backend, classifier } = await warmSetup();
    const img = image(7);
    const statuses: string[] = [];
    for (const topK of [1, 5, 250, 5, 250]) {
      const c = classifier();
      expect(await c.classify([img], topK)).toEqual([expected(img, topK)]);
      statuses.push(c.cacheStatus);
    }
    expect(statuses).toEqual(['miss', 'hit', 'miss', 'hit', 'hit']);
    expect(backend.topKs()).toEqual([10, 250]);
  });

  it('stores the deeper ranking in KV in place of the shallower one', async () => {
    const { store, classifier, flush } = await warmSetup();
    await classifier().classify([image(9)], 5);
    await classifier().classify([image(9)], 40);
    await flush();
    expect(store.data.get(`cls:v1:${VIT}:${REVISION}:img:sha-9`)?.metadata).toEqual({ classes: 40, complete: false });
  });

  it('sends the uncached and the too-shallow images of a request in one call at the depth it needs', async () => {
    const { backend, classifier } = await warmSetup();
    await classifier().classify([image(1)], 5);
    await classifier().classify([image(2)], 20);
    const c = classifier();
    expect(await c.classify([image(1), image(2), image(3)], 20)).toEqual([expected(image(1), 20), expected(image(2), 20), expected(image(3), 20)]);
    expect(c.cacheStatus).toBe('partial');
    expect(backend.asked.at(-1)).toEqual({ images: 2, topK: 20 });
  });

  it('fills an empty label table with one answer of every class, then asks for the minimum depth', async () => {
    const { backend, store, classifier, flush } = setup();
    await classifier().classify([image(0)], 1);
    await classifier().classify([image(100)], 1);
    await flush();
    expect(backend.topKs()).toEqual([CLASSIFY_MAX_TOP_K, CLASSIFY_CACHE_MIN_DEPTH]);
    expect(store.writes.filter((k) => k === LABELS_KEY)).toHaveLength(1);
    // The filling answer ranked every class: any top_k of that image is a hit.
    const c = classifier();
    expect(await c.classify([image(0)], 300)).toEqual([expected(image(0), 300)]);
    expect(c.cacheStatus).toBe('hit');
  });

  it('serves a fresh isolate from the label table in KV without filling it again', async () => {
    const { backend, store, flush } = await warmSetup();
    const cold = setup(backend, store);
    expect(await cold.classifier().classify([image(4)], 2)).toEqual([expected(image(4), 2)]);
    await cold.flush();
    await flush();
    expect(backend.topKs()).toEqual([CLASSIFY_CACHE_MIN_DEPTH]);
    expect(store.writes.filter((k) => k === LABELS_KEY)).toHaveLength(1);
  });

  it('does not try to fill a label table that one answer cannot hold', async () => {
    const classes = CLASSIFY_MAX_TOP_K + 200;
    const { backend, classifier } = setup(fakeBackend({ classes }));
    expect(await classifier().classify([image(5)], 2)).toEqual([expected(image(5), 2, classes)]);
    expect(backend.topKs()).toEqual([CLASSIFY_CACHE_MIN_DEPTH]);
  });

  it('grows the label table from ordinary answers when the backend does not report num_labels', async () => {
    const { backend, store, classifier, flush } = setup(fakeBackend({ classes: 40, reportsNumLabels: false }));
    expect(await classifier().classify([image(0)], 3)).toEqual([expected(image(0), 3, 40)]);
    expect(await classifier().classify([image(20)], 3)).toEqual([expected(image(20), 3, 40)]);
    await flush();
    expect(backend.topKs()).toEqual([CLASSIFY_CACHE_MIN_DEPTH, CLASSIFY_CACHE_MIN_DEPTH]);
    expect(store.writes.filter((k) => k === LABELS_KEY)).toHaveLength(2);
  });

  it('treats an answer shorter than asked for as every class when the backend does not report num_labels', async () => {
    const { backend, store, classifier, flush } = setup(fakeBackend({ classes: 4, reportsNumLabels: false }));
    await classifier().classify([image(1)], 1);
    const c = classifier();
    expect(await c.classify([image(1)], CLASSIFY_MAX_TOP_K)).toEqual([expected(image(1), 4, 4)]);
    expect(c.cacheStatus).toBe('hit');
    expect(backend.topKs()).toEqual([CLASSIFY_CACHE_MIN_DEPTH]);
    await flush();
    expect(store.data.get(`cls:v1:${VIT}:${REVISION}:img:sha-1`)?.metadata).toEqual({ classes: 4, complete: true });
  });
});

describe('Classifier', () => {
  it('writes the label table once per revision, not with every miss', async () => {
    const { store, classifier, flush } = setup();
    await classifier().classify([image(0), image(1)], 1);
    await classifier().classify([image(2)], 1);
    await flush();
    expect(store.writes.filter((k) => k.endsWith(':labels'))).toEqual([LABELS_KEY]);
    expect(store.writes.filter((k) => k.includes(':img:'))).toHaveLength(3);
  });

  it('recomputes a cached ranking whose label table is gone, and stores the table again', async () => {
    const { backend, store, classifier, flush } = await warmSetup();
    await classifier().classify([image(1)], 3);
    await flush();
    // A fresh isolate (empty LRUs) whose KV lost the label table but kept the ranking.
    store.data.delete(LABELS_KEY);
    const cold = setup(backend, store);
    const c = cold.classifier();
    expect(await c.classify([image(1)], 3)).toEqual([expected(image(1), 3)]);
    expect(c.cacheStatus).toBe('miss');
    expect(backend.asked).toHaveLength(2);
    await cold.flush();
    expect(store.data.has(LABELS_KEY)).toBe(true);
  });

  it('counts a request with cached and uncached images as partial', async () => {
    const { classifier } = setup();
    await classifier().classify([image(0)], 1);
    const c = classifier();
    await c.classify([image(0), image(3)], 1);
    expect(c.cacheStatus).toBe('partial');
  });

  it.each([
    ['a negative class index', () => [{ label: 'class 0', score: 1, index: -1 }]],
    ['no classes for an image', () => []],
    ['more classes than asked for', (_: IntakeImage, topK: number) => ranking(image(0), topK + 1)],
  ])('answers 502 and caches nothing when the backend sends %s', async (_, answer) => {
    const { store, classifier, flush } = setup(fakeBackend({ answer }));
    const problem = await rejectionProblem(classifier().classify([image(0)], 1));
    expect(problem.slug).toBe('backend_error');
    await flush();
    expect([...store.data.keys()].filter((k) => k.startsWith('cls:'))).toEqual([]);
  });

  it('rejects a top_k beyond the API’s largest as a bug', async () => {
    const { classifier } = setup();
    await expect(classifier().classify([image(0)], CLASSIFY_MAX_TOP_K + 1)).rejects.toThrow(/bug: top_k 1001/);
  });
});
