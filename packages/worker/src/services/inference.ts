/**
 * Composes the public inference answers from embeddings, asking the backend only for what no cache
 * holds: a repeated label set costs one image-tower pass, a repeated image with cached labels costs
 * nothing. Zero-shot follows ALIGN / the Hugging Face pipeline: L2-normalise, `cos / temperature`,
 * softmax over the labels.
 */
import { ProblemError } from '../errors';
import { ModelChangedError, type BackendClient, type CallContext, type Embeddings } from './backend-client';
import { bytesOf, streamedOf, verifyFound, type ImageSource } from './claimed-image';
import { embeddingKey, type CachedEmbedding, type EmbeddingCache } from './embedding-cache';
import { sha256Hex } from './encoding';
import type { IntakeImage } from './image-intake';
import { CacheTally, firstMisses, type CacheStatus } from './kv-lru-cache';
import { alignModelOf, withCurrentModel, type AlignModel, type ModelInfoCache, type ModelInfoStore } from './model-info';
import { LRUCache } from 'lru-cache';
import { l2Normalize, rankLabels, unitCosineMatrix } from './scoring';


/**
 * SHA-256 of recent texts, the key of their embeddings. Labels and hypotheses repeat from request to
 * request; digesting them again (five calls into the runtime for five labels) was most of what a cached
 * zero-shot answer cost beyond a cached classification. Only short texts are kept.
 */
const TEXT_DIGESTS = new LRUCache<string, string>({ max: 2048 });
const MAX_MEMO_TEXT_LENGTH = 512;

async function textDigest(text: string): Promise<string> {
  const known = TEXT_DIGESTS.get(text);
  if (known !== undefined) return known;
  const digest = await sha256Hex(text);
  if (text.length <= MAX_MEMO_TEXT_LENGTH) TEXT_DIGESTS.set(text, digest);
  return digest;
}

/**
 * The L2-normalised form of an embedding, computed once per vector object: a cached embedding is the
 * same `Float32Array` on every hit, and nothing writes to an embedding once it is made.
 */
const UNIT_VECTORS = new WeakMap<Float32Array, Float64Array>();

function unit(v: Float32Array): Float64Array {
  let out = UNIT_VECTORS.get(v);
  if (out === undefined) {
    out = l2Normalize(v);
    UNIT_VECTORS.set(v, out);
  }
  return out;
}

/** Cosine matrix of embeddings (rows images, columns texts) through their memoised unit vectors. */
function cosineOf(images: readonly Float32Array[], texts: readonly Float32Array[]): number[][] {
  return unitCosineMatrix(images.map(unit), texts.map(unit));
}

export interface InferenceOptions {
  backend: BackendClient;
  cache: EmbeddingCache;
  modelInfo: ModelInfoCache;
  modelInfoStore: ModelInfoStore;
  call: CallContext;
  defer: (work: Promise<unknown>) => void;
}

export interface TextVectors {
  vectors: Float32Array[];
  tokens: number[];
}

/** Replaces every `{}` of the template with the label (the pipeline's `hypothesis_template`). */
export function hypothesis(template: string, label: string): string {
  return template.split('{}').join(label);
}

/** One request's view of inference; counts cache hits and misses for `x-cache`. */
export class Inference {
  readonly #o: InferenceOptions;
  readonly #tally = new CacheTally();

  constructor(options: InferenceOptions) {
    this.#o = options;
  }

  /** `hit`, `miss` or `partial` over every embedding this request looked up. */
  get cacheStatus(): CacheStatus {
    return this.#tally.status;
  }

  /**
   * Runs `work` with the ALIGN model of the cached model info, again from scratch with fresh info when
   * the backend turns out to serve other weights (`withCurrentModel`); the cache counts restart then,
   * so `x-cache` describes the look-ups of the answer actually given.
   */
  #withModel<T>(work: (model: AlignModel) => Promise<T>): Promise<T> {
    const { backend, call, modelInfo, modelInfoStore, defer } = this.#o;
    return withCurrentModel({ modelInfo, modelInfoStore, load: () => backend.models(call), defer }, alignModelOf, work, () => { this.#tally.reset(); });
  }

  /**
   * Unnormalised image embeddings in input order; identical images are embedded once. A claimed image
   * (services/claimed-image.ts) is looked up by its claimed digest; found, its body is read and must
   * have that digest before the entry is used; missing, its body goes to the backend as a stream, and
   * the answer is cached only when the backend confirms the digest.
   */
  async imageEmbeddings(images: readonly ImageSource[], model: AlignModel): Promise<Float32Array[]> {
    const keys = images.map((img) => embeddingKey(model, 'img', img.sha256));
    const found = await this.#lookup(keys, model.dim);
    const sources = await verifyFound(images, found);
    const missing = firstMisses(keys, found);
    if (missing.length > 0) {
      const toEmbed = missing.map((i) => sources[i] as ImageSource);
      const streamed = streamedOf(toEmbed);
      if (streamed === null) {
        const result = await this.#o.backend.embedImages(toEmbed.map(bytesOf), this.#o.call);
        this.#store(model, result, missing.map((i, j) => [keys[i] as string, { vector: result.vectors[j] as Float32Array }]), found, keys);
      } else {
        const result = await this.#o.backend.embedImageStream(streamed, this.#o.call);
        const cacheable = result.verifiedSha256 === streamed.sha256;
        this.#store(model, result, missing.map((i, j) => [keys[i] as string, { vector: result.vectors[j] as Float32Array }]), found, keys, cacheable);
      }
    }
    return found.map((entry, i) => required(entry, keys[i]).vector);
  }

  /** Unnormalised text embeddings and token counts in input order; identical texts are embedded once. */
  async textEmbeddings(texts: readonly string[], model: AlignModel): Promise<TextVectors> {
    const digests = texts.map((t) => TEXT_DIGESTS.get(t));
    const keys = digests.every((d) => d !== undefined)
      ? digests.map((d) => embeddingKey(model, 'txt', d))
      : await Promise.all(texts.map(async (t) => embeddingKey(model, 'txt', await textDigest(t))));
    const found = await this.#lookup(keys, model.dim);
    const missing = firstMisses(keys, found);
    if (missing.length > 0) {
      const result = await this.#o.backend.embedTexts(
        missing.map((i) => texts[i] as string),
        this.#o.call,
      );
      this.#store(
        model,
        result,
        missing.map((i, j) => [keys[i] as string, { vector: result.vectors[j] as Float32Array, tokens: result.tokens[j] ?? 0 }]),
        found,
        keys,
      );
    }
    const entries = found.map((entry, i) => required(entry, keys[i]));
    return { vectors: entries.map((e) => e.vector), tokens: entries.map((e) => e.tokens ?? 0) };
  }

  /** Zero-shot scores: one best-first `[{label, score}]` list per image. */
  zeroShot(images: readonly ImageSource[], labels: readonly string[], template: string): Promise<{ label: string; score: number }[][]> {
    return this.#withModel((model) => this.#zeroShot(images, labels, template, model));
  }

  async #zeroShot(images: readonly ImageSource[], labels: readonly string[], template: string, model: AlignModel): Promise<{ label: string; score: number }[][]> {
    const [imageVectors, text] = await Promise.all([
      this.imageEmbeddings(images, model),
      this.textEmbeddings(
        labels.map((l) => hypothesis(template, l)),
        model,
      ),
    ]);
    const cosine = cosineOf(imageVectors, text.vectors);
    return cosine.map((row) =>
      rankLabels(
        labels,
        row.map((c) => c / model.temperature),
      ),
    );
  }

  /** Cosine and logit matrices of images against raw texts, as ALIGN's `logits_per_image`. */
  similarity(images: readonly IntakeImage[], texts: readonly string[]): Promise<{ model: string; cosine: number[][]; logits: number[][]; temperature: number }> {
    return this.#withModel((model) => this.#similarity(images, texts, model));
  }

  async #similarity(
    images: readonly IntakeImage[],
    texts: readonly string[],
    model: AlignModel,
  ): Promise<{ model: string; cosine: number[][]; logits: number[][]; temperature: number }> {
    const [imageVectors, text] = await Promise.all([this.imageEmbeddings(images, model), this.textEmbeddings(texts, model)]);
    const cosine = cosineOf(imageVectors, text.vectors);
    return { model: model.id, cosine, logits: cosine.map((row) => row.map((c) => c / model.temperature)), temperature: model.temperature };
  }

  /** Embeddings of texts then images, optionally L2-normalised. */
  embeddings(
    texts: readonly string[],
    images: readonly ImageSource[],
    normalize: boolean,
  ): Promise<{ model: AlignModel; texts: Float32Array[]; images: Float32Array[]; textTokens: number }> {
    return this.#withModel((model) => this.#embeddings(texts, images, normalize, model));
  }

  async #embeddings(
    texts: readonly string[],
    images: readonly ImageSource[],
    normalize: boolean,
    model: AlignModel,
  ): Promise<{ model: AlignModel; texts: Float32Array[]; images: Float32Array[]; textTokens: number }> {
    const [text, imageVectors] = await Promise.all([
      texts.length > 0 ? this.textEmbeddings(texts, model) : Promise.resolve<TextVectors>({ vectors: [], tokens: [] }),
      images.length > 0 ? this.imageEmbeddings(images, model) : Promise.resolve<Float32Array[]>([]),
    ]);
    const finish = (v: Float32Array) => (normalize ? Float32Array.from(unit(v)) : v);
    return {
      model,
      texts: text.vectors.map(finish),
      images: imageVectors.map(finish),
      textTokens: text.tokens.reduce((a, b) => a + b, 0),
    };
  }

  async #lookup(keys: readonly string[], dim: number): Promise<(CachedEmbedding | undefined)[]> {
    const found = await this.#o.cache.getMany(keys, dim);
    this.#tally.count(found);
    return found;
  }

  /**
   * Fills `found` with fresh embeddings (and duplicates of them) and caches them. An answer from other
   * weights than `model` describes throws {@link ModelChangedError} before anything is cached or used:
   * its vectors belong under another key, and next to this request's cached ones they would mix models.
   * With `cacheable` false they answer this request only (a streamed body whose digest the backend did
   * not confirm: its key is a claim nobody checked).
   */
  #store(
    model: AlignModel,
    answer: Embeddings,
    fresh: [string, CachedEmbedding][],
    found: (CachedEmbedding | undefined)[],
    keys: readonly string[],
    cacheable = true,
  ): void {
    if (answer.model !== model.id || answer.revision !== model.revision) {
      throw new ModelChangedError({ id: model.id, revision: model.revision }, { id: answer.model, revision: answer.revision });
    }
    if (answer.dim !== model.dim) {
      throw new ProblemError('backend_error', `the inference backend answered embeddings of dim ${answer.dim}; its model info says ${model.dim}`);
    }
    const byKey = new Map(fresh);
    if (cacheable) for (const [key, entry] of fresh) this.#o.cache.set(key, entry);
    keys.forEach((key, i) => {
      if (found[i] === undefined) found[i] = byKey.get(key);
    });
  }
}

function required(entry: CachedEmbedding | undefined, key: string | undefined): CachedEmbedding {
  if (!entry) throw new Error(`bug: no embedding for ${key ?? '?'} after the backend call`);
  return entry;
}
