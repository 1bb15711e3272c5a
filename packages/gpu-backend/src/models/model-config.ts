/**
 * Reads and validates a model folder's `config.json` and `preprocessor_config.json` once, at
 * start-up. Pre-processing parameters come from the checkpoint's own file, with the Hugging Face
 * image processors' defaults for absent fields, so a real export and a test model are handled
 * by the same code.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ModelConfigError } from './errors.js';

/** Per-channel triple (R, G, B). */
export type Rgb = [number, number, number];

/** Output size of an image step, in pixels. */
export interface Size {
  width: number;
  height: number;
}

/**
 * Image pre-processing in the Hugging Face order: resize → center crop → rescale (·factor, −1 if
 * `offset`) → normalise ((x − mean) / std) → EfficientNet's `include_top` division by std.
 */
export interface ImagePreprocessConfig {
  /** Hugging Face processor class the parameters come from (for messages). */
  processor: string;
  resize: Size;
  /** Pillow filter; only BILINEAR (2), the one both checkpoints use, is implemented. */
  resample: 'bilinear';
  /** null: no crop. */
  centerCrop: Size | null;
  /** null: do_rescale false. */
  rescale: { factor: number; offset: boolean } | null;
  /** null: do_normalize false. */
  normalize: { mean: Rgb; std: Rgb } | null;
  /** EfficientNet `include_top`: divides by these std values once more; null when false. */
  includeTopStd: Rgb | null;
}

/** ALIGN's EfficientNetImageProcessor parameters. */
export type AlignPreprocessConfig = ImagePreprocessConfig;
/** ViT's ViTImageProcessor parameters. */
export type VitPreprocessConfig = ImagePreprocessConfig;

/** What the backend needs from `models/align-base/`. */
export interface AlignModelConfig {
  /** Learned logit temperature: `logits = (img·txtᵀ) / temperature` on L2-normalised embeddings. */
  temperature: number;
  /** Embedding width (`projection_dim`). */
  projectionDim: number;
  /** True only for generated test models (`"coyo_test_model": true`). */
  testModel: boolean;
  warning?: string;
  preprocess: AlignPreprocessConfig;
}

/** What the backend needs from `models/vit-large-patch16-384/`. */
export interface VitModelConfig {
  /** Class names by logit index. */
  id2label: string[];
  testModel: boolean;
  warning?: string;
  preprocess: VitPreprocessConfig;
}

/** Final tensor side of a pre-processing config: the crop if any, else the resize. */
export function outputSize(cfg: ImagePreprocessConfig): Size {
  return cfg.centerCrop ?? cfg.resize;
}

// ---------------------------------------------------------------------------------------------

const IMAGENET_STANDARD: Rgb = [0.5, 0.5, 0.5];
const PILLOW_BILINEAR = 2;

const positiveInt = z.number().int().positive();
const positiveFinite = z.number().positive().refine(Number.isFinite, 'must be finite');
const triple = z.tuple([z.number(), z.number(), z.number()]);
const positiveTriple = z.tuple([positiveFinite, positiveFinite, positiveFinite]);

/** `{height, width}` or a plain integer (older exports write `"size": 384`), as HF accepts. */
const SizeSchema = z.union([
  positiveInt.transform((n): Size => ({ width: n, height: n })),
  z.object({ height: positiveInt, width: positiveInt }).transform(({ height, width }): Size => ({ width, height })),
]);

const MarkersSchema = z.object({
  coyo_test_model: z.boolean().optional(),
  coyo_warning: z.string().optional(),
});

const EfficientNetSchema = z.object({
  image_processor_type: z
    .literal('EfficientNetImageProcessor', { error: 'expected "EfficientNetImageProcessor"' })
    .optional(),
  do_resize: z.boolean().default(true),
  size: SizeSchema.default({ width: 600, height: 600 }),
  resample: z.number().int().default(0),
  do_center_crop: z.boolean().default(false),
  crop_size: SizeSchema.default({ width: 289, height: 289 }),
  do_rescale: z.boolean().default(true),
  rescale_factor: positiveFinite.default(1 / 255),
  rescale_offset: z.boolean().default(false),
  do_normalize: z.boolean().default(true),
  image_mean: triple.default(IMAGENET_STANDARD),
  image_std: positiveTriple.default(IMAGENET_STANDARD),
  include_top: z.boolean().default(true),
});

const ViTSchema = z.object({
  image_processor_type: z.literal('ViTImageProcessor', { error: 'expected "ViTImageProcessor"' }).optional(),
  feature_extractor_type: z.literal('ViTFeatureExtractor', { error: 'expected "ViTFeatureExtractor"' }).optional(),
  do_resize: z.boolean().default(true),
  size: SizeSchema.default({ width: 224, height: 224 }),
  resample: z.number().int().default(PILLOW_BILINEAR),
  do_rescale: z.boolean().default(true),
  rescale_factor: positiveFinite.default(1 / 255),
  do_normalize: z.boolean().default(true),
  image_mean: triple.default(IMAGENET_STANDARD),
  image_std: positiveTriple.default(IMAGENET_STANDARD),
});

const AlignConfigSchema = MarkersSchema.extend({
  model_type: z.literal('align', { error: 'expected "align"' }).optional(),
  temperature: positiveFinite,
  projection_dim: positiveInt.default(640),
});

const VitConfigSchema = MarkersSchema.extend({
  id2label: z.record(z.string(), z.string()),
});

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length > 0 ? `field "${issue.path.join('.')}": ${issue.message}` : issue.message))
    .join('; ');
}

async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelConfigError(file, code === 'ENOENT' ? 'file not found' : `cannot be read (${code})`, { cause: err });
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ModelConfigError(file, `is not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

async function parseFile<S extends z.ZodType>(file: string, schema: S): Promise<z.output<S>> {
  const parsed = schema.safeParse(await readJsonFile(file));
  if (!parsed.success) throw new ModelConfigError(file, describe(parsed.error));
  return parsed.data;
}

function checkCommon(file: string, doResize: boolean, resample: number): void {
  if (!doResize) {
    throw new ModelConfigError(file, 'field "do_resize": must be true, the model takes a fixed input size');
  }
  if (resample !== PILLOW_BILINEAR) {
    throw new ModelConfigError(file, `field "resample": ${resample} is not supported, only 2 (bilinear)`);
  }
}

/** Parses an EfficientNetImageProcessor `preprocessor_config.json` (ALIGN). */
export async function loadAlignPreprocess(file: string): Promise<AlignPreprocessConfig> {
  const p = await parseFile(file, EfficientNetSchema);
  checkCommon(file, p.do_resize, p.resample);
  if (p.do_center_crop && (p.crop_size.width > p.size.width || p.crop_size.height > p.size.height)) {
    throw new ModelConfigError(file, 'field "crop_size": larger than "size"; padding is not supported');
  }
  return {
    processor: 'EfficientNetImageProcessor',
    resize: p.size,
    resample: 'bilinear',
    centerCrop: p.do_center_crop ? p.crop_size : null,
    rescale: p.do_rescale ? { factor: p.rescale_factor, offset: p.rescale_offset } : null,
    normalize: p.do_normalize ? { mean: p.image_mean, std: p.image_std } : null,
    includeTopStd: p.include_top ? p.image_std : null,
  };
}

/** Parses a ViTImageProcessor `preprocessor_config.json`. */
export async function loadVitPreprocess(file: string): Promise<VitPreprocessConfig> {
  const p = await parseFile(file, ViTSchema);
  checkCommon(file, p.do_resize, p.resample);
  return {
    processor: 'ViTImageProcessor',
    resize: p.size,
    resample: 'bilinear',
    centerCrop: null,
    rescale: p.do_rescale ? { factor: p.rescale_factor, offset: false } : null,
    normalize: p.do_normalize ? { mean: p.image_mean, std: p.image_std } : null,
    includeTopStd: null,
  };
}

function markers(m: { coyo_test_model?: boolean | undefined; coyo_warning?: string | undefined }): {
  testModel: boolean;
  warning?: string;
} {
  return m.coyo_warning !== undefined
    ? { testModel: m.coyo_test_model === true, warning: m.coyo_warning }
    : { testModel: m.coyo_test_model === true };
}

/**
 * Loads `config.json` + `preprocessor_config.json` of the ALIGN folder. `temperature` is required:
 * real exports write the learned value there (1.0 in the Hub's config is only its initial value).
 */
export async function loadAlignConfig(dir: string): Promise<AlignModelConfig> {
  const config = await parseFile(join(dir, 'config.json'), AlignConfigSchema);
  const preprocess = await loadAlignPreprocess(join(dir, 'preprocessor_config.json'));
  return { temperature: config.temperature, projectionDim: config.projection_dim, ...markers(config), preprocess };
}

/** Loads `config.json` (id2label) + `preprocessor_config.json` of the ViT folder. */
export async function loadVitConfig(dir: string): Promise<VitModelConfig> {
  const file = join(dir, 'config.json');
  const config = await parseFile(file, VitConfigSchema);
  const entries = Object.entries(config.id2label);
  if (entries.length === 0) throw new ModelConfigError(file, 'field "id2label": is empty');
  const id2label = new Array<string>(entries.length);
  for (const [key, label] of entries) {
    const index = /^(0|[1-9]\d*)$/.test(key) ? Number(key) : Number.NaN;
    if (!(index < entries.length)) {
      throw new ModelConfigError(file, `field "id2label.${key}": keys must be the indices 0..${entries.length - 1}`);
    }
    id2label[index] = label;
  }
  const preprocess = await loadVitPreprocess(join(dir, 'preprocessor_config.json'));
  return { id2label, ...markers(config), preprocess };
}
