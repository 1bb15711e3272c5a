/**
 * The Hugging Face Inference API's request and answer shapes, as its clients (`@huggingface/inference`,
 * `huggingface_hub`) send and expect them for the tasks served here.
 */
import { z } from '@hono/zod-openapi';
import { MAX_EMBEDDING_TEXTS, MAX_TEXT_CHARS, HypothesisTemplateSchema, LabelScoresSchema } from './inference';

/** An image in an HF JSON body: base64 bytes (what the clients send), a `data:` URL or an http(s) URL. */
export const HfImageSchema = z
  .string()
  .min(1)
  .openapi({ description: 'The image bytes in base64 (what the clients send), a data: URL, or an http(s) URL.', example: 'iVBORw0KGgo…' });

const HfTextSchema = z.string().min(1, 'text must not be empty').max(MAX_TEXT_CHARS);

/** `parameters` of the tasks served: zero-shot labels and template, classification `top_k`. */
export const HfParametersSchema = z
  .object({
    candidate_labels: z
      .union([z.array(z.string()), z.string()])
      .optional()
      .openapi({ description: 'Zero-shot labels: a list, or one comma-separated string. Their presence selects zero-shot for ALIGN.', example: ['cat', 'dog'] }),
    hypothesis_template: HypothesisTemplateSchema.optional(),
    top_k: z.int().min(1).max(1000).optional().openapi({ description: 'Image classification: how many classes (default 5).', example: 5 }),
  })
  .loose()
  .openapi('HfParameters');

/**
 * An HF JSON body. Other top-level fields the clients add (`options`, `normalize`, `truncate`, …) are
 * accepted; `normalize: false` gives unnormalised embeddings.
 */
export const HfRequestSchema = z
  .object({
    inputs: z
      .union([
        z.object({ image: HfImageSchema }).loose(),
        HfTextSchema,
        z.array(HfTextSchema).min(1).max(MAX_EMBEDDING_TEXTS),
      ])
      .openapi({
        description:
          'Feature extraction: a text or a list of texts. Zero-shot and image classification: `{ "image": "<base64>" }`, or the image ' +
          'as a string (base64, data: or http(s) URL).',
        example: { image: 'iVBORw0KGgo…' },
      }),
    parameters: HfParametersSchema.optional(),
    normalize: z.boolean().optional(),
  })
  .loose()
  .openapi('HfRequest');
export type HfRequest = z.infer<typeof HfRequestSchema>;

/** Query parameters, for raw image bodies (the clients send images raw and drop `parameters`). */
export const HfQuerySchema = z.object({
  top_k: z.string().optional().openapi({ description: 'Image classification with a raw image body: how many classes (1–1000, default 5).', example: '3' }),
  candidate_labels: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({ description: 'Zero-shot with a raw image body: comma-separated labels, a JSON array, or the parameter repeated.', example: 'cat,dog' }),
  hypothesis_template: z.string().optional().openapi({ description: 'Zero-shot with a raw image body: the hypothesis template.' }),
});

/** Path parameters of `/hf/models/{model}`. */
export const HfModelParamSchema = z.object({
  model: z.string().openapi({ param: { name: 'model', in: 'path' }, example: 'align-base', description: 'A model id without a namespace.' }),
});

/** Path parameters of `/hf/models/{namespace}/{model}`. */
export const HfNamespacedModelParamSchema = z.object({
  namespace: z.string().openapi({ param: { name: 'namespace', in: 'path' }, example: 'kakaobrain' }),
  model: z.string().openapi({ param: { name: 'model', in: 'path' }, example: 'align-base' }),
});

/** The answer: labels with scores (best first), one embedding, or one embedding per text. */
export const HfResponseSchema = z
  .union([LabelScoresSchema, z.array(z.number()), z.array(z.array(z.number()))])
  .openapi('HfResponse', {
    description: 'Zero-shot and image classification: `[{label, score}]`, best first. Feature extraction: `number[]` for one text or image, `number[][]` for a list of texts.',
  });
export type HfResponse = z.infer<typeof HfResponseSchema>;
