/**
 * The OpenAI-shaped side of `POST /v1/embeddings`: a request with `input` (and OpenAI's `model`,
 * `dimensions`, `user`) goes through the same inference service as a native one and is answered in
 * OpenAI's list shape, so `openai.embeddings.create()` works against this API unchanged.
 */
import { validationProblem } from '../../errors';
import type { ImageInput } from '../../schemas/image';
import { isImageItem, type EmbeddingInputItem, type EmbeddingsRequest, type OpenAiEmbeddingsResponse } from '../../schemas/inference';
import type { RequestServices } from '../../runtime';
import { intakeImageInputs } from '../../services/image-intake';
import { alignModelOf, type ModelInfoStore } from '../../services/model-info';
import { MODEL_ALIASES, modelFamily, servedModels } from './model-ids';

/** An `{ image }` item's string as the native image input: a URL (http(s) or data:) or base64 bytes. */
export function imageInputOf(image: string): ImageInput {
  return /^(https?|data):/i.test(image) ? { url: image } : { base64: image };
}

/**
 * Answers an OpenAI-shaped embeddings request (`store`: where the model info is cached). `model` must name ALIGN and `dimensions`, when given,
 * must equal its dimension: both are checked against the served model before anything is embedded.
 */
export async function openAiEmbeddings(
  store: ModelInfoStore,
  svc: RequestServices,
  body: EmbeddingsRequest & { input: string | EmbeddingInputItem[] },
  encode: (v: Float32Array) => number[] | string,
): Promise<OpenAiEmbeddingsResponse> {
  const served = await servedModels(store, svc);
  const align = alignModelOf(served);
  if (body.model !== undefined && modelFamily(body.model, served) !== 'align') {
    throw validationProblem([{ in: 'body', path: 'model', message: `${body.model} is not an embedding model here; use ${MODEL_ALIASES.align.join(' or ')}` }]);
  }
  if (body.dimensions !== undefined && body.dimensions !== align.dim) {
    throw validationProblem([
      { in: 'body', path: 'dimensions', message: `${align.id} embeddings have ${align.dim} dimensions and cannot be shortened; omit dimensions or pass ${align.dim}` },
    ]);
  }
  const items: EmbeddingInputItem[] = typeof body.input === 'string' ? [body.input] : body.input;
  const texts: string[] = [];
  const imageInputs: ImageInput[] = [];
  // Where each item's vector lands: in the text results or in the image results, and at which index.
  const slots = items.map((item) => {
    if (isImageItem(item)) return { image: true, at: imageInputs.push(imageInputOf(item.image)) - 1 };
    texts.push(typeof item === 'string' ? item : item.text);
    return { image: false, at: texts.length - 1 };
  });
  const imagePaths = items.flatMap((item, i) => (isImageItem(item) ? [`input[${i}].image`] : []));
  const images = imageInputs.length > 0 ? await intakeImageInputs(imageInputs, svc.intake, svc.imageBudget(), (i) => imagePaths[i] ?? 'input') : [];
  const result = await svc.inference.embeddings(texts, images, body.normalize ?? true);
  const data = slots.map(({ image, at }, index) => {
    const vector = (image ? result.images : result.texts)[at];
    if (vector === undefined) throw new Error(`bug: no embedding for input[${index}]`);
    return { object: 'embedding' as const, index, embedding: encode(vector) };
  });
  return {
    object: 'list',
    data,
    model: body.model ?? result.model.id,
    usage: { prompt_tokens: result.textTokens, total_tokens: result.textTokens },
  };
}
