import { z } from '@hono/zod-openapi';
import { ImageInputSchema, ImageListSchema, MAX_IMAGES_PER_REQUEST } from './image';

export const MAX_LABELS = 64;
export const MAX_LABEL_CHARS = 200;
export const DEFAULT_HYPOTHESIS_TEMPLATE = 'This is a photo of {}.';
export const MAX_EMBEDDING_TEXTS = 256;
export const MAX_TEXT_CHARS = 2048;

/** Requires exactly one of `image` and `images`, reporting the error where the client must look. */
function oneImageField(value: { image?: unknown; images?: unknown }, ctx: z.RefinementCtx): void {
  if (value.image !== undefined && value.images !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['images'], message: 'give either image or images, not both' });
  } else if (value.image === undefined && value.images === undefined) {
    ctx.addIssue({ code: 'custom', path: ['image'], message: 'an image is required (image: {url} | {base64}, or images: [...])' });
  }
}

export const LabelSchema = z
  .string()
  .min(1, 'label must not be empty')
  .max(MAX_LABEL_CHARS, `label must be at most ${MAX_LABEL_CHARS} characters`)
  .refine((s) => s === '' || s.trim() !== '', { error: 'label must not be blank' });

export const LabelsSchema = z
  .array(LabelSchema)
  .min(1, 'at least one label is required')
  .max(MAX_LABELS, `at most ${MAX_LABELS} labels`)
  .openapi({ example: ['cat', 'dog', 'bird'], description: 'Candidate labels, scored against each other.' });

export const HypothesisTemplateSchema = z
  .string()
  .min(2)
  .max(500)
  .refine((s) => s.includes('{}'), { error: 'hypothesis_template must contain "{}", where each label goes' })
  .openapi({ example: DEFAULT_HYPOTHESIS_TEMPLATE, description: `Every "{}" is replaced by the label. Default "${DEFAULT_HYPOTHESIS_TEMPLATE}".` });

/**
 * Refuses labels whose hypothesis (the template with the label in every `{}`) is longer than the
 * backend accepts for one text, so the client gets a 400 naming the label instead of a 502, and a
 * client's input never counts as a backend failure towards the circuit breaker.
 */
export function checkHypothesisLengths(value: { labels?: unknown; hypothesis_template?: unknown }, ctx: z.RefinementCtx): void {
  if (!Array.isArray(value.labels)) return;
  const template = typeof value.hypothesis_template === 'string' ? value.hypothesis_template : DEFAULT_HYPOTHESIS_TEMPLATE;
  const slots = template.split('{}').length - 1;
  const fixed = template.length - 2 * slots;
  value.labels.forEach((label: unknown, i) => {
    if (typeof label !== 'string') return;
    const length = fixed + slots * label.length;
    if (length > MAX_TEXT_CHARS) {
      ctx.addIssue({
        code: 'custom',
        path: ['labels', i],
        message: `with the hypothesis_template this label makes a text of ${length} characters; the limit is ${MAX_TEXT_CHARS}`,
      });
    }
  });
}

export const ZeroShotRequestSchema = z
  .object({
    image: ImageInputSchema.optional(),
    images: ImageListSchema.optional().openapi({ description: `Up to ${MAX_IMAGES_PER_REQUEST} images; the answer has one list per image.` }),
    labels: LabelsSchema,
    hypothesis_template: HypothesisTemplateSchema.optional(),
  })
  .strict()
  .superRefine(oneImageField)
  .superRefine(checkHypothesisLengths)
  .openapi('ZeroShotRequest');
export type ZeroShotRequest = z.infer<typeof ZeroShotRequestSchema>;

/** Query parameters of a zero-shot request whose body is the raw image. */
export const ZeroShotQuerySchema = z.object({
  labels: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({
      description: 'For raw image bodies: comma-separated labels (`labels=cat,dog`), a JSON array, or the parameter repeated once per label.',
      example: 'cat,dog',
    }),
  hypothesis_template: z.string().optional().openapi({ description: 'For raw image bodies: the hypothesis template.' }),
});

export const LabelScoreSchema = z
  .object({ label: z.string(), score: z.number().openapi({ description: 'Softmax probability over the labels, 0..1.' }) })
  .openapi('LabelScore');

/** Labels with scores, best first. */
export const LabelScoresSchema = z.array(LabelScoreSchema).openapi('LabelScores');

/** One list for a single image, one list per image for `images: [...]` or several parts. */
export const ScoresResponseSchema = z.union([LabelScoresSchema, z.array(LabelScoresSchema)]).openapi('ScoresResponse');

export const TopKSchema = z.coerce
  .number()
  .int()
  .min(1)
  .max(1000)
  .openapi({ description: 'How many classes to return, best first (capped at the number of classes).', example: 5 });

export const ClassifyRequestSchema = z
  .object({
    image: ImageInputSchema.optional(),
    images: ImageListSchema.optional(),
    top_k: z.int().min(1).max(1000).optional().openapi({ description: 'How many classes to return, default 5.', example: 5 }),
  })
  .strict()
  .superRefine(oneImageField)
  .openapi('ClassifyRequest');
export type ClassifyRequest = z.infer<typeof ClassifyRequestSchema>;

export const ClassifyQuerySchema = z.object({
  top_k: z.string().optional().openapi({ description: 'For raw image and multipart bodies: how many classes to return (1–1000, default 5).', example: '5' }),
});

const EmbeddingTextSchema = z.string().min(1, 'text must not be empty').max(MAX_TEXT_CHARS);

/**
 * One item of an OpenAI-style `input` list: a text, or a Jina-CLIP-style `{ text }` / `{ image }` object
 * whose image is an http(s) URL, a `data:` URL or base64 bytes.
 */
export const EmbeddingInputItemSchema = z
  .union([
    EmbeddingTextSchema,
    z.object({ text: EmbeddingTextSchema }).strict(),
    z.object({ image: z.string().min(1).openapi({ description: 'An http(s) URL, a data: URL, or the image bytes in base64.' }) }).strict(),
  ])
  .openapi('EmbeddingInputItem');
export type EmbeddingInputItem = z.infer<typeof EmbeddingInputItemSchema>;

/** Whether an `input` item is an image. */
export function isImageItem(item: EmbeddingInputItem): item is { image: string } {
  return typeof item === 'object' && 'image' in item;
}

/** Whether a request to `/v1/embeddings` is OpenAI-shaped (answered in OpenAI's list shape). */
export function isOpenAiEmbeddingsRequest(body: EmbeddingsRequest): body is EmbeddingsRequest & { input: string | EmbeddingInputItem[] } {
  return body.input !== undefined;
}

export const EmbeddingsRequestSchema = z
  .object({
    texts: z
      .array(EmbeddingTextSchema)
      .min(1)
      .max(MAX_EMBEDDING_TEXTS)
      .optional()
      .openapi({ example: ['a photo of a cat'] }),
    images: ImageListSchema.optional(),
    input: z
      .union([EmbeddingTextSchema, z.array(EmbeddingInputItemSchema).min(1).max(MAX_EMBEDDING_TEXTS)])
      .optional()
      .openapi({
        description:
          'OpenAI’s field, instead of `texts` / `images`: a text or a list of texts (Jina-CLIP-style `{text}` / `{image}` items too). ' +
          'A request with `input` is answered in OpenAI’s list shape.',
        example: ['a photo of a cat'],
      }),
    model: z
      .string()
      .min(1)
      .optional()
      .openapi({ description: 'OpenAI’s field: `align-base` or `kakaobrain/align-base` (the only embedding model).', example: 'align-base' }),
    dimensions: z
      .int()
      .min(1)
      .optional()
      .openapi({ description: 'OpenAI’s field: accepted only when it equals the model’s dimension (ALIGN does not shorten embeddings).', example: 640 }),
    user: z.string().max(256).optional().openapi({ description: 'OpenAI’s end-user id; accepted and ignored.' }),
    normalize: z.boolean().optional().openapi({ description: 'L2-normalise each embedding (default true).' }),
    encoding_format: z
      .enum(['float', 'base64'])
      .optional()
      .openapi({ description: '`float` (default): arrays of numbers; `base64`: little-endian float32 bytes, base64-encoded.' }),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (v.input !== undefined) {
      for (const field of ['texts', 'images'] as const) {
        if (v[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `give either input or ${field}, not both` });
      }
      const images = Array.isArray(v.input) ? v.input.filter(isImageItem).length : 0;
      if (images > MAX_IMAGES_PER_REQUEST) ctx.addIssue({ code: 'custom', path: ['input'], message: `at most ${MAX_IMAGES_PER_REQUEST} image items` });
    } else {
      if (v.texts === undefined && v.images === undefined) ctx.addIssue({ code: 'custom', path: ['texts'], message: 'give texts, images or both (or input)' });
      for (const field of ['model', 'dimensions', 'user'] as const) {
        if (v[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} goes with input (the OpenAI request shape), not with texts / images` });
      }
    }
  })
  .openapi('EmbeddingsRequest');
export type EmbeddingsRequest = z.infer<typeof EmbeddingsRequestSchema>;

/** `true` / `false` of a multipart text field. */
const FormBooleanSchema = z.enum(['true', 'false']);

/**
 * The text fields of a multipart `/v1/embeddings` body, whose images are its `image` file parts: `text`
 * repeated once per text (in order), and the native JSON form's options. Validated with the JSON
 * form's rules; errors name the form's fields.
 */
export const EmbeddingsFormSchema = z
  .object({
    text: z.array(EmbeddingTextSchema).max(MAX_EMBEDDING_TEXTS).optional(),
    normalize: FormBooleanSchema.optional(),
    encoding_format: z.enum(['float', 'base64']).optional(),
  })
  .strict();
export type EmbeddingsForm = z.infer<typeof EmbeddingsFormSchema>;

/** The options of a raw image body to `/v1/embeddings` (one image, no texts), in the query. */
export const EmbeddingsQuerySchema = z
  .object({
    normalize: FormBooleanSchema.optional().openapi({ description: 'For a raw image body: L2-normalise the embedding (default `true`).', example: 'true' }),
    encoding_format: z
      .enum(['float', 'base64'])
      .optional()
      .openapi({ description: 'For a raw image body: `float` (default) or `base64` (little-endian float32 bytes).', example: 'float' }),
  })
  .strict();

export const EmbeddingSchema = z
  .object({
    index: z.int().openapi({ description: 'Position of the input in `texts` or in `images`.' }),
    type: z.enum(['text', 'image']),
    embedding: z.union([z.array(z.number()), z.string()]).openapi({ description: 'Numbers, or base64 float32 bytes.' }),
  })
  .openapi('Embedding');

export const EmbeddingsResponseSchema = z
  .object({
    model: z.string().openapi({ example: 'align-base' }),
    dim: z.int().openapi({ example: 640 }),
    data: z.array(EmbeddingSchema).openapi({ description: 'Texts first, in request order, then images.' }),
    usage: z.object({
      text_tokens: z.int().openapi({ description: 'Tokens of the texts after truncation to the model limit.' }),
      images: z.int(),
    }),
  })
  .openapi('EmbeddingsResponse');
export type EmbeddingsResponse = z.infer<typeof EmbeddingsResponseSchema>;

/** The answer to an OpenAI-shaped request (`input`), in OpenAI's list shape. */
export const OpenAiEmbeddingsResponseSchema = z
  .object({
    object: z.literal('list'),
    data: z
      .array(
        z.object({
          object: z.literal('embedding'),
          index: z.int().openapi({ description: 'Position of the input item.' }),
          embedding: z.union([z.array(z.number()), z.string()]).openapi({ description: 'Numbers, or base64 little-endian float32 bytes.' }),
        }),
      )
      .openapi({ description: 'One embedding per `input` item, in order.' }),
    model: z.string().openapi({ example: 'align-base' }),
    usage: z.object({
      prompt_tokens: z.int().openapi({ description: 'Tokens of the texts after truncation to the model limit.' }),
      total_tokens: z.int(),
    }),
  })
  .openapi('OpenAiEmbeddingsResponse');
export type OpenAiEmbeddingsResponse = z.infer<typeof OpenAiEmbeddingsResponseSchema>;

export const SimilarityRequestSchema = z
  .object({
    images: ImageListSchema,
    texts: z.array(z.string().min(1).max(MAX_TEXT_CHARS)).min(1).max(MAX_EMBEDDING_TEXTS),
  })
  .strict()
  .openapi('SimilarityRequest');
export type SimilarityRequest = z.infer<typeof SimilarityRequestSchema>;

/** The text fields of a multipart `/v1/similarity` body, whose images are its `image` file parts. */
export const SimilarityFormSchema = z
  .object({ text: z.array(z.string().min(1).max(MAX_TEXT_CHARS)).min(1).max(MAX_EMBEDDING_TEXTS) })
  .strict();

export const SimilarityResponseSchema = z
  .object({
    model: z.string().openapi({ example: 'align-base' }),
    cosine: z.array(z.array(z.number())).openapi({ description: 'cosine[i][j]: image i against text j, in -1..1.' }),
    logits: z.array(z.array(z.number())).openapi({ description: 'cosine / temperature, the model’s logits_per_image.' }),
    temperature: z.number(),
  })
  .openapi('SimilarityResponse');
export type SimilarityResponse = z.infer<typeof SimilarityResponseSchema>;
