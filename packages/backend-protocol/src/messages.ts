/**
 * zod schemas of every request and answer body. The backend builds its answers as these types
 * (`satisfies`), the worker and its fake backend parse and build with the same schemas. Fields an older
 * backend did not send (`revision`, `batching`) are optional so callers keep accepting it.
 */
import { z } from 'zod';
import { LIMITS, REVISION_PATTERN } from './wire.js';

/** A model revision (docs/backend-protocol.md): a content hash of the files that determine its outputs. */
export const ModelRevisionSchema = z.string().regex(REVISION_PATTERN, 'expected 8 to 64 lowercase hex digits');

/** Vectors as JSON number arrays (float32 values, see `vectors.ts`), one per input in request order. */
export const EmbeddingsSchema = z.array(z.array(z.number()));

/** `POST /v1/embed/text` request body. */
export const EmbedTextRequestSchema = z.object({
  texts: z
    .array(z.string().max(LIMITS.maxTextLength, `each text must be at most ${LIMITS.maxTextLength} characters`))
    .min(1, 'texts must hold at least one text')
    .max(LIMITS.maxTextsPerCall, `texts must hold at most ${LIMITS.maxTextsPerCall} texts`),
});

/** `POST /v1/embed/image` answer: unnormalised image embeddings. */
export const EmbedImageAnswerSchema = z.object({
  model: z.string(),
  revision: ModelRevisionSchema.optional(),
  dim: z.int().positive(),
  embeddings: EmbeddingsSchema,
});

/** `POST /v1/embed/text` answer: unnormalised text embeddings and the tokens each text used. */
export const EmbedTextAnswerSchema = EmbedImageAnswerSchema.extend({ tokens: z.array(z.int().nonnegative()) });

/** One class of a classification: softmax `score`, `index` into the model's labels. */
export const PredictionSchema = z.object({ label: z.string(), score: z.number(), index: z.int().nonnegative() });

/** `POST /v1/classify` answer: one list per image, scores descending. */
export const ClassifyAnswerSchema = z.object({
  model: z.string(),
  revision: ModelRevisionSchema.optional(),
  predictions: z.array(z.array(PredictionSchema)),
});

/**
 * `POST /v1/phash` answer: each image's perceptual hash as Python's `imagehash.phash` prints it (16
 * lower-case hex digits, comparable with COYO-700M's `image_phash`), in request order.
 */
export const PhashAnswerSchema = z.object({ phashes: z.array(z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 lowercase hex digits')) });

/** Tasks the backend serves; callers pick models by task. */
export const MODEL_TASKS = { zeroShot: 'zero-shot-image-classification', imageClassification: 'image-classification' } as const;

/**
 * One served model of `GET /v1/models`. One shape for every task (task-specific fields optional), so a
 * caller keeps parsing a list that gains a model of a task it does not know.
 */
export const ModelSchema = z.object({
  id: z.string(),
  revision: ModelRevisionSchema.optional(),
  task: z.string(),
  image_size: z.int().positive().optional(),
  /** zero-shot (ALIGN): width of both towers' embeddings. */
  embedding_dim: z.int().positive().optional(),
  /** zero-shot: tokens read per text. */
  max_text_tokens: z.int().positive().optional(),
  /** zero-shot: learned temperature (logits = cosine / temperature). */
  temperature: z.number().positive().optional(),
  /** image-classification: number of classes. */
  num_labels: z.int().positive().optional(),
});

/** The backend's batching knobs (Triton's names), as `/v1/models` reports them. */
export const BatchingSchema = z.object({
  max_batch_size: z.int().positive(),
  max_queue_delay_ms: z.number().nonnegative(),
  max_queue: z.int().positive(),
});

/** `GET /v1/models` answer. */
export const ModelsAnswerSchema = z.object({
  device: z.string(),
  test_models: z.boolean(),
  /** Why the models should not be trusted, when they should not (test models). */
  warning: z.string().optional(),
  models: z.array(ModelSchema),
  batching: BatchingSchema.optional(),
});

/** `GET /healthz` answer: always 200 while the process serves. */
export const HealthAnswerSchema = z.object({
  status: z.literal('ok'),
  test_models: z.boolean().optional(),
  warning: z.string().optional(),
  /** The device the sessions run on (`cpu`, `webgpu`, `cuda`), once they have loaded. */
  device: z.string().optional(),
  /** What decodes JPEGs once the sessions have loaded: the native `libjpeg-turbo` addon, or `sharp`. */
  jpeg_decoder: z.enum(['libjpeg-turbo', 'sharp']).optional(),
});

/** Life-cycle phases `GET /readyz` reports (200 only when `ready`). */
export const PHASES = ['starting', 'ready', 'draining'] as const;
export type Phase = (typeof PHASES)[number];

/** `GET /readyz` answer. */
export const ReadyAnswerSchema = z.object({ status: z.enum(PHASES) });

export type EmbedTextRequest = z.infer<typeof EmbedTextRequestSchema>;
export type EmbedImageAnswer = z.infer<typeof EmbedImageAnswerSchema>;
export type EmbedTextAnswer = z.infer<typeof EmbedTextAnswerSchema>;
export type Prediction = z.infer<typeof PredictionSchema>;
export type ClassifyAnswer = z.infer<typeof ClassifyAnswerSchema>;
export type PhashAnswer = z.infer<typeof PhashAnswerSchema>;
export type Model = z.infer<typeof ModelSchema>;
export type ModelsAnswer = z.infer<typeof ModelsAnswerSchema>;
export type HealthAnswer = z.infer<typeof HealthAnswerSchema>;
export type ReadyAnswer = z.infer<typeof ReadyAnswerSchema>;
