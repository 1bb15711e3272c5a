/**
 * ViT classification through the edge cache: images whose ranking is cached deep enough (for the
 * model revision the backend serves) never reach the backend, the others go in one backend call, and
 * the answers come back in request order. A miss asks for `max(top_k, CLASSIFY_CACHE_MIN_DEPTH)`
 * classes; a request deeper than an image's cached ranking recomputes it and replaces it with the
 * deeper one.
 *
 * The only exception is a revision whose label table does not yet name every class: its miss asks for
 * every class once, which fills the table, so it is written once per revision instead of growing (and
 * being rewritten in KV, by every isolate) with each miss that brings a class not seen before.
 */
import { ProblemError } from '../errors';
import { ModelChangedError, type BackendClient, type CallContext, type Classifications } from './backend-client';
import {
  answersTopK,
  CLASSIFY_CACHE_MIN_DEPTH,
  CLASSIFY_MAX_TOP_K,
  classificationKey,
  type ClassificationCache,
  type ClassLabels,
  type RankedClasses,
} from './classification-cache';
import { bytesOf, streamedOf, verifyFound, type ImageSource } from './claimed-image';
import { CacheTally, firstMisses, type CacheStatus } from './kv-lru-cache';
import { vitModelOf, withCurrentModel, type ModelInfoCache, type ModelInfoStore, type VitModel } from './model-info';

/** One class of an answer. */
export interface ClassScore {
  label: string;
  score: number;
}

export interface ClassifierOptions {
  backend: Pick<BackendClient, 'classify' | 'classifyStream' | 'models'>;
  cache: ClassificationCache;
  modelInfo: ModelInfoCache;
  modelInfoStore: ModelInfoStore;
  call: CallContext;
  defer: (work: Promise<unknown>) => void;
}

/** One request's classifications; counts cache hits and misses per image for `x-cache`. */
export class Classifier {
  readonly #o: ClassifierOptions;
  readonly #tally = new CacheTally();

  constructor(options: ClassifierOptions) {
    this.#o = options;
  }

  /** `hit` when every image's ranking came from the cache, `miss` when none did, else `partial`. */
  get cacheStatus(): CacheStatus {
    return this.#tally.status;
  }

  /**
   * The `topK` best classes of each image, best first, in input order. When a backend answer shows the
   * weights changed under the cached model info, classifies again from scratch with fresh info
   * (`withCurrentModel`), so no answer mixes two weight sets; the cache counts restart with it.
   */
  async classify(images: readonly ImageSource[], topK: number): Promise<ClassScore[][]> {
    if (!Number.isInteger(topK) || topK < 1 || topK > CLASSIFY_MAX_TOP_K) throw new Error(`bug: top_k ${topK} is outside 1..${CLASSIFY_MAX_TOP_K}`);
    const { backend, call, modelInfo, modelInfoStore, defer } = this.#o;
    return withCurrentModel(
      { modelInfo, modelInfoStore, load: () => backend.models(call), defer },
      vitModelOf,
      (model) => this.#classify(images, topK, model),
      () => { this.#tally.reset(); },
    );
  }

  async #classify(images: readonly ImageSource[], topK: number, model: VitModel): Promise<ClassScore[][]> {
    const { cache } = this.#o;
    const keys = images.map((img) => classificationKey(model, img.sha256));
    const [cachedLabels, cached] = await Promise.all([cache.labels(model), cache.getMany(keys)]);
    let labels = cachedLabels ?? new Map<number, string>();
    // Too shallow for this top_k, or naming a class the label table lacks (it expired first): recomputed.
    const found = cached.map((entry) => (entry && answersTopK(entry, topK) && namesAll(entry, labels, topK) ? entry : undefined));
    this.#tally.count(found);
    // A claimed image's cached ranking is given only once its body proved the claim (claimed-image.ts).
    const sources = await verifyFound(images, found);
    const missing = firstMisses(keys, found);
    if (missing.length > 0) {
      const depth = fillsLabelTable(labels, model) ? CLASSIFY_MAX_TOP_K : Math.max(topK, CLASSIFY_CACHE_MIN_DEPTH);
      const toClassify = missing.map((i) => sources[i] as ImageSource);
      const streamed = streamedOf(toClassify);
      // A streamed body's ranking is cached only when the backend confirms the claimed digest.
      const { answer, cacheable } =
        streamed === null
          ? { answer: await this.#o.backend.classify(toClassify.map(bytesOf), depth, this.#o.call), cacheable: true }
          : await this.#o.backend.classifyStream(streamed, depth, this.#o.call).then((a) => ({ answer: a, cacheable: a.verifiedSha256 === streamed.sha256 }));
      // Checked before anything is cached or used: another weight set's answer belongs under other keys.
      if (answer.model !== model.id || answer.revision !== model.revision) {
        throw new ModelChangedError({ id: model.id, revision: model.revision }, { id: answer.model, revision: answer.revision });
      }
      checkAnswer(answer, depth);
      const merged = mergeLabels(labels, answer);
      if (merged !== labels) cache.setLabels(model, merged);
      labels = merged;
      const byKey = new Map<string, RankedClasses>();
      missing.forEach((i, j) => {
        const key = keys[i] as string;
        const ranked = rankedOf(answer.predictions[j] ?? [], depth, model);
        byKey.set(key, ranked);
        if (cacheable) cache.set(key, ranked);
      });
      keys.forEach((key, i) => {
        if (found[i] === undefined) found[i] = byKey.get(key);
      });
    }
    return found.map((entry, i) => {
      if (!entry) throw new Error(`bug: no classification for ${keys[i] ?? '?'} after the backend call`);
      return topOf(entry, labels, topK);
    });
  }
}

/**
 * Whether a miss should ask for every class, to complete the revision's label table in one answer: the
 * model says how many classes it has, one answer can hold them all, and the table lacks some. Without
 * `num_labels` (or with more classes than one answer holds) the table grows from ordinary answers.
 */
function fillsLabelTable(labels: ClassLabels, model: VitModel): boolean {
  return model.numLabels !== undefined && model.numLabels <= CLASSIFY_MAX_TOP_K && labels.size < model.numLabels;
}

/** Whether the label table names each of the classes an answer of `topK` shows. */
function namesAll(entry: RankedClasses, labels: ClassLabels, topK: number): boolean {
  const n = Math.min(topK, entry.indices.length);
  for (let i = 0; i < n; i++) if (!labels.has(entry.indices[i] as number)) return false;
  return true;
}

/**
 * The label table with every (index, label) of the answer in it: the same object when the answer adds
 * nothing, so the caller stores the table only when it changed (KV allows one write a second per key).
 */
function mergeLabels(labels: ClassLabels, answer: Classifications): ClassLabels {
  let merged: Map<number, string> | undefined;
  for (const list of answer.predictions) {
    for (const { index, label } of list) {
      if ((merged ?? labels).get(index) === label) continue;
      merged ??= new Map(labels);
      merged.set(index, label);
    }
  }
  return merged ?? labels;
}

/**
 * Class indices become uint32 in cache entries, and an entry's depth is the length of its list: an
 * index out of range, an empty list or one longer than asked for is the backend breaking the protocol.
 */
function checkAnswer(answer: Classifications, depth: number): void {
  for (const list of answer.predictions) {
    if (list.length === 0) throw new ProblemError('backend_error', 'the inference backend answered no classes for an image');
    if (list.length > depth) throw new ProblemError('backend_error', `the inference backend answered ${list.length} classes for top_k ${depth}`);
    for (const { index } of list) {
      if (index < 0 || index > 0xffffffff) throw new ProblemError('backend_error', `the inference backend answered class index ${index}`);
    }
  }
}

/**
 * An entry of the backend's list for one image, asked at `depth`: it holds every class when it has as
 * many as the model (`num_labels`), or, when the backend does not say, when the backend had fewer than
 * `depth` to give (it caps `top_k` at the class count).
 */
function rankedOf(list: Classifications['predictions'][number], depth: number, model: VitModel): RankedClasses {
  const complete = model.numLabels === undefined ? list.length < depth : list.length >= model.numLabels;
  return { indices: Uint32Array.from(list, (p) => p.index), scores: Float64Array.from(list, (p) => p.score), complete };
}

function topOf(entry: RankedClasses, labels: ClassLabels, topK: number): ClassScore[] {
  const n = Math.min(topK, entry.indices.length);
  const out: ClassScore[] = [];
  for (let i = 0; i < n; i++) {
    const index = entry.indices[i] as number;
    const label = labels.get(index);
    if (label === undefined) throw new Error(`bug: class ${index} has no label after the label table was checked or merged`);
    out.push({ label, score: entry.scores[i] as number });
  }
  return out;
}
