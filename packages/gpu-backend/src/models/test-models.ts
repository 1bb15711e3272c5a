/**
 * Small generated stand-ins for the real exports of `kakaobrain/align-base` and
 * `kakaobrain/vit-large-patch16-384`: same folder layout, file names, tensor names, shapes and
 * dtypes, but closed-form weights (see test-model-spec.ts), so the whole backend can run and be
 * tested on a CPU in milliseconds. Output is byte-identical on every run.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ModelConfigError } from './errors.js';
import { ELEM_TYPE, GraphBuilder, attr } from './onnx-builder.js';
import {
  TEST_ALIGN_IMAGE_SIZE,
  TEST_ALIGN_TEMPERATURE,
  TEST_EMBEDDING_DIM,
  TEST_NUM_LABELS,
  TEST_VIT_IMAGE_SIZE,
  TEST_VIT_LOGIT_SCALE,
  textFrequency,
  textPhase,
  textTypeWeight,
  visionBias,
  visionWeight,
  vitBias,
  vitWeight,
  weightTable,
  weightVector,
} from './test-model-spec.js';

/** Folder names under the models directory (ARCHITECTURE.md). */
export const ALIGN_MODEL_ID = 'align-base';
export const VIT_MODEL_ID = 'vit-large-patch16-384';

/** Shown by /healthz and /v1/models whenever these models are loaded. */
export const TEST_MODEL_WARNING =
  'Generated test model with synthetic weights: its embeddings, scores and labels are meaningless. ' +
  'Export the real checkpoints to get real results.';

const PRODUCER = 'coyo-edge test-models';

// ---------------------------------------------------------------------------------------------
// Tokenizer: a small slice of bert-base-uncased that keeps the real token ids.

const SPECIAL_TOKENS: ReadonlyArray<readonly [string, number]> = [
  ['[PAD]', 0],
  ['[UNK]', 100],
  ['[CLS]', 101],
  ['[SEP]', 102],
  ['[MASK]', 103],
];

/** Printable ASCII without upper case, ids 999..1066 in bert-base-uncased. */
const CHAR_TOKENS = [
  // ASCII only, so splitting by UTF-16 unit splits by character.
  ...Array.from('!"#$%&\'()*+,-./0123456789:;<=>?@[\\]^_`'),
  ...Array.from('abcdefghijklmnopqrstuvwxyz'),
  ...Array.from('{|}~'),
];

/** The most frequent words and pieces, ids 1996..2111 in bert-base-uncased. */
const WORD_TOKENS = (
  'the of and in to was he is as for on with that it his by at from her ##s she you had an were ' +
  'but be this are not my they one which or have him me first all also their has up who out been ' +
  'when after there into new two its ##a time would no what about said we over then other so more ' +
  '##e can if like back them only some could ##i where just ##ing during before ##n do ##o made ' +
  'school through than now years most world may between down well three ##d year while will ##ed ' +
  '##r ##y later ##t city under around did such being used state people'
).split(' ');

const EXTRA_TOKENS: ReadonlyArray<readonly [string, number]> = [
  ['dog', 3899],
  ['cat', 4937],
  ['photo', 6302],
];

/** token → id of the test vocabulary (sparse ids, all equal to bert-base-uncased's). */
export function testVocabulary(): Map<string, number> {
  if (CHAR_TOKENS.length !== 1066 - 999 + 1 || WORD_TOKENS.length !== 2111 - 1996 + 1) {
    throw new Error('bug: test vocabulary tables have the wrong length');
  }
  const vocab = new Map<string, number>();
  const add = (token: string, id: number): void => {
    if (vocab.has(token)) throw new Error(`bug: token ${token} listed twice in the test vocabulary`);
    vocab.set(token, id);
  };
  for (const [token, id] of SPECIAL_TOKENS) add(token, id);
  for (const [i, token] of CHAR_TOKENS.entries()) add(token, 999 + i);
  for (const [i, token] of WORD_TOKENS.entries()) add(token, 1996 + i);
  for (const [token, id] of EXTRA_TOKENS) add(token, id);
  return vocab;
}

function tokenizerJson(): unknown {
  const vocab: Record<string, number> = {};
  for (const [token, id] of [...testVocabulary()].sort((a, b) => a[1] - b[1])) vocab[token] = id;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map(([content, id]) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [101], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [102], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

const SPECIAL_TOKENS_MAP = {
  cls_token: '[CLS]',
  mask_token: '[MASK]',
  pad_token: '[PAD]',
  sep_token: '[SEP]',
  unk_token: '[UNK]',
};

const TOKENIZER_CONFIG = {
  clean_up_tokenization_spaces: true,
  ...SPECIAL_TOKENS_MAP,
  do_basic_tokenize: true,
  do_lower_case: true,
  model_max_length: 64,
  never_split: null,
  strip_accents: null,
  tokenize_chinese_chars: true,
  tokenizer_class: 'BertTokenizer',
};

// ---------------------------------------------------------------------------------------------
// Configs: the real checkpoints' pre-processing, plus the markers that tell a test model apart.

function alignConfig(): unknown {
  return {
    coyo_test_model: true,
    coyo_warning: TEST_MODEL_WARNING,
    architectures: ['AlignModel'],
    model_type: 'align',
    projection_dim: TEST_EMBEDDING_DIM,
    temperature: TEST_ALIGN_TEMPERATURE,
  };
}

const ALIGN_PREPROCESSOR_CONFIG = {
  crop_size: { height: TEST_ALIGN_IMAGE_SIZE, width: TEST_ALIGN_IMAGE_SIZE },
  do_center_crop: true,
  do_normalize: false,
  do_rescale: true,
  do_resize: true,
  image_processor_type: 'EfficientNetImageProcessor',
  include_top: false,
  processor_class: 'AlignProcessor',
  resample: 2,
  rescale_factor: 1 / 127.5,
  rescale_offset: true,
  size: { height: 346, width: 346 },
};

const VIT_PREPROCESSOR_CONFIG = {
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  image_mean: [0.5, 0.5, 0.5],
  image_processor_type: 'ViTImageProcessor',
  image_std: [0.5, 0.5, 0.5],
  resample: 2,
  rescale_factor: 1 / 255,
  size: { height: TEST_VIT_IMAGE_SIZE, width: TEST_VIT_IMAGE_SIZE },
};

const ImagenetLabelsSchema = z
  .record(z.string().regex(/^\d+$/), z.string().min(1))
  .refine((o) => Object.keys(o).length === TEST_NUM_LABELS, `expected ${TEST_NUM_LABELS} labels`);

/** The ImageNet-1k class names in index order, as Hugging Face ViT configs carry them. */
export async function loadImagenetLabels(): Promise<string[]> {
  const file = fileURLToPath(new URL('../../scripts/imagenet-labels.json', import.meta.url));
  const parsed = ImagenetLabelsSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
  if (!parsed.success) throw new ModelConfigError(file, parsed.error.issues[0]?.message ?? 'invalid');
  const labels: string[] = [];
  for (let i = 0; i < TEST_NUM_LABELS; i++) {
    const label = parsed.data[String(i)];
    if (label === undefined) throw new ModelConfigError(file, `label ${i} is missing`);
    labels.push(label);
  }
  return labels;
}

function vitConfig(labels: readonly string[]): unknown {
  const id2label: Record<string, string> = {};
  labels.forEach((label, i) => (id2label[String(i)] = label));
  // Python's {v: k} keeps the last index of a duplicated name ("crane"); keys sorted like HF's JSON.
  const byLabel = new Map<string, number>();
  labels.forEach((label, i) => byLabel.set(label, i));
  const label2id: Record<string, number> = {};
  for (const [label, id] of [...byLabel].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) label2id[label] = id;
  return {
    coyo_test_model: true,
    coyo_warning: TEST_MODEL_WARNING,
    architectures: ['ViTForImageClassification'],
    model_type: 'vit',
    image_size: TEST_VIT_IMAGE_SIZE,
    num_channels: 3,
    patch_size: 16,
    id2label,
    label2id,
  };
}

// ---------------------------------------------------------------------------------------------
// ONNX graphs: named values and nodes, so the tensor names match the real exports.

const D = TEST_EMBEDDING_DIM;

function encode(g: GraphBuilder, graphName: string, docString: string): Uint8Array {
  return g.encode({ producerName: PRODUCER, producerVersion: '1', graphName, docString });
}

/** pixel_values [B,3,S,S] → per-channel spatial mean [B,3]. */
function channelMeans(g: GraphBuilder): void {
  g.node('ReduceMean', ['pixel_values'], ['channel_means'], { axes: attr.ints([2, 3]), keepdims: attr.int(0) });
}

function visionModel(): Uint8Array {
  const g = new GraphBuilder();
  g.input('pixel_values', 'float32', ['batch_size', 3, TEST_ALIGN_IMAGE_SIZE, TEST_ALIGN_IMAGE_SIZE]);
  g.tensor('vision_weight', 'float32', [3, D], weightTable(3, D, visionWeight));
  g.tensor('vision_bias', 'float32', [D], weightVector(D, visionBias));
  channelMeans(g);
  g.node('MatMul', ['channel_means', 'vision_weight'], ['projected']);
  g.node('Add', ['projected', 'vision_bias'], ['image_embeds']);
  g.output('image_embeds', 'image_embeds', 'float32', ['batch_size', D]);
  return encode(g, 'align_test_vision', `${TEST_MODEL_WARNING} image_embeds = mean_hw(pixel_values) · WV + BV.`);
}

function textModel(): Uint8Array {
  const g = new GraphBuilder();
  const dims = ['batch_size', 'sequence_length'];
  for (const name of ['input_ids', 'attention_mask', 'token_type_ids']) g.input(name, 'int64', dims);
  g.tensor('text_frequency', 'float32', [D], weightVector(D, textFrequency));
  g.tensor('text_phase', 'float32', [D], weightVector(D, textPhase));
  g.tensor('text_type_weight', 'float32', [D], weightVector(D, textTypeWeight));
  g.tensor('last_axis', 'int64', [1], [-1]);
  g.tensor('sequence_axis', 'int64', [1], [1]);
  const cast = (from: string, to: string) => g.node('Cast', [from], [to], { to: attr.int(ELEM_TYPE.float32) });
  cast('input_ids', 'ids_f');
  cast('attention_mask', 'mask_f');
  cast('token_type_ids', 'types_f');
  g.node('Unsqueeze', ['ids_f', 'last_axis'], ['ids_3d']);
  g.node('Mul', ['ids_3d', 'text_frequency'], ['scaled_ids']);
  g.node('Add', ['scaled_ids', 'text_phase'], ['angles']);
  g.node('Sin', ['angles'], ['waves']);
  g.node('Unsqueeze', ['mask_f', 'last_axis'], ['mask_3d']);
  g.node('Mul', ['waves', 'mask_3d'], ['masked_waves']);
  g.node('ReduceSum', ['masked_waves', 'sequence_axis'], ['wave_sum'], { keepdims: attr.int(0) });
  g.node('ReduceSum', ['mask_f', 'sequence_axis'], ['token_count'], { keepdims: attr.int(1) });
  g.node('Div', ['wave_sum', 'token_count'], ['wave_mean']);
  g.node('Mul', ['types_f', 'mask_f'], ['masked_types']);
  g.node('ReduceSum', ['masked_types', 'sequence_axis'], ['type_sum'], { keepdims: attr.int(1) });
  g.node('Div', ['type_sum', 'token_count'], ['type_mean']);
  g.node('Mul', ['type_mean', 'text_type_weight'], ['type_term']);
  g.node('Add', ['wave_mean', 'type_term'], ['text_embeds']);
  g.output('text_embeds', 'text_embeds', 'float32', ['batch_size', D]);
  return encode(g, 'align_test_text', `${TEST_MODEL_WARNING} text_embeds = masked mean of sin(ω·id + φ) + 0.5·mean(type)·cos(φ).`);
}

function vitModel(): Uint8Array {
  const K = TEST_NUM_LABELS;
  const g = new GraphBuilder();
  g.input('pixel_values', 'float32', ['batch_size', 3, TEST_VIT_IMAGE_SIZE, TEST_VIT_IMAGE_SIZE]);
  g.tensor('head_weight', 'float32', [3, K], weightTable(3, K, vitWeight));
  g.tensor('head_bias', 'float32', [K], weightVector(K, vitBias));
  g.tensor('logit_scale', 'float32', [], [TEST_VIT_LOGIT_SCALE]);
  channelMeans(g);
  g.node('MatMul', ['channel_means', 'head_weight'], ['head_out']);
  g.node('Add', ['head_out', 'head_bias'], ['unscaled_logits']);
  g.node('Mul', ['unscaled_logits', 'logit_scale'], ['logits']);
  g.output('logits', 'logits', 'float32', ['batch_size', K]);
  return encode(g, 'vit_test_classifier', `${TEST_MODEL_WARNING} logits = 10·(mean_hw(pixel_values) · WT + BT).`);
}

// ---------------------------------------------------------------------------------------------
// Writing.

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
}

/** Every file of both test model folders, relative to the models directory. */
export async function buildTestModelFiles(): Promise<Map<string, Uint8Array>> {
  const labels = await loadImagenetLabels();
  return new Map<string, Uint8Array>([
    [`${ALIGN_MODEL_ID}/config.json`, json(alignConfig())],
    [`${ALIGN_MODEL_ID}/preprocessor_config.json`, json(ALIGN_PREPROCESSOR_CONFIG)],
    [`${ALIGN_MODEL_ID}/tokenizer.json`, json(tokenizerJson())],
    [`${ALIGN_MODEL_ID}/tokenizer_config.json`, json(TOKENIZER_CONFIG)],
    [`${ALIGN_MODEL_ID}/special_tokens_map.json`, json(SPECIAL_TOKENS_MAP)],
    [`${ALIGN_MODEL_ID}/onnx/vision_model.onnx`, visionModel()],
    [`${ALIGN_MODEL_ID}/onnx/text_model.onnx`, textModel()],
    [`${VIT_MODEL_ID}/config.json`, json(vitConfig(labels))],
    [`${VIT_MODEL_ID}/preprocessor_config.json`, json(VIT_PREPROCESSOR_CONFIG)],
    [`${VIT_MODEL_ID}/onnx/model.onnx`, vitModel()],
  ]);
}

const TestMarkerSchema = z.object({ coyo_test_model: z.literal(true) });

/**
 * Refuses to touch a model folder that holds anything but a generated test model, so a real
 * export (which has no `"coyo_test_model": true`) is never overwritten.
 */
async function assertReplaceable(modelDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(modelDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (entries.length === 0) return;
  const configFile = join(modelDir, 'config.json');
  let marked = false;
  try {
    marked = TestMarkerSchema.safeParse(JSON.parse(await readFile(configFile, 'utf8'))).success;
  } catch {
    marked = false;
  }
  if (!marked) {
    throw new ModelConfigError(
      configFile,
      'this folder holds a model that is not a generated test model (no "coyo_test_model": true); ' +
        'refusing to overwrite it. Move it away or pass another output directory.',
    );
  }
}

async function sameContent(file: string, bytes: Uint8Array): Promise<boolean> {
  try {
    const existing = await readFile(file);
    return Buffer.compare(existing, bytes) === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export interface GenerateResult {
  outDir: string;
  /** Paths (relative to outDir) that were created or replaced. */
  written: string[];
  /** Paths (relative to outDir) that already held identical bytes. */
  unchanged: string[];
}

/**
 * Writes both test models under `outDir` (`align-base/`, `vit-large-patch16-384/`). Files with
 * identical content are left alone; a folder holding a real export makes it throw before anything
 * is written. Files are written to a temporary name and renamed, so readers never see half a file.
 */
export async function generateTestModels(outDir: string): Promise<GenerateResult> {
  const files = await buildTestModelFiles();
  await assertReplaceable(join(outDir, ALIGN_MODEL_ID));
  await assertReplaceable(join(outDir, VIT_MODEL_ID));
  const result: GenerateResult = { outDir, written: [], unchanged: [] };
  for (const [relative, bytes] of files) {
    const target = join(outDir, relative);
    if (await sameContent(target, bytes)) {
      result.unchanged.push(relative);
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.tmp`;
    try {
      await writeFile(temp, bytes);
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    result.written.push(relative);
  }
  return result;
}
