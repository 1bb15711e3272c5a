/**
 * Small generated stand-ins for the real exports of `kakaobrain/align-base` and
 * `kakaobrain/vit-large-patch16-384`: same folder layout, file names, tensor names, shapes and
 * dtypes, but closed-form weights (see test-model-spec.ts), so the whole backend can run and be
 * tested on a CPU in milliseconds. Output is byte-identical on every run.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';
import { z } from 'zod';
import { ModelConfigError } from './errors.js';
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

const { onnx } = onnxProto;

/** Folder names under the models directory (ARCHITECTURE.md). */
export const ALIGN_MODEL_ID = 'align-base';
export const VIT_MODEL_ID = 'vit-large-patch16-384';

/** Shown by /healthz and /v1/models whenever these models are loaded. */
export const TEST_MODEL_WARNING =
  'Generated test model with synthetic weights: its embeddings, scores and labels are meaningless. ' +
  'Export the real checkpoints to get real results.';

const OPSET = 17;
const IR_VERSION = 8;
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
  ...'!"#$%&\'()*+,-./0123456789:;<=>?@[\\]^_`',
  ...'abcdefghijklmnopqrstuvwxyz',
  ...'{|}~',
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
  CHAR_TOKENS.forEach((token, i) => add(token, 999 + i));
  WORD_TOKENS.forEach((token, i) => add(token, 1996 + i));
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
// ONNX graphs.

/** An ONNX dimension: a fixed size, or a named dynamic one (`batch_size`). */
export type Dim = number | string;

function floatTensor(name: string, dims: number[], values: Float32Array): OnnxTypes.ITensorProto {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes };
}

function int64Tensor(name: string, dims: number[], values: readonly number[]): OnnxTypes.ITensorProto {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims, dataType: onnx.TensorProto.DataType.INT64, rawData: bytes };
}

/** A graph input/output declaration with its element type and shape. */
export function valueInfo(name: string, elemType: number, dims: Dim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function intAttr(name: string, value: number): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function intsAttr(name: string, values: number[]): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

function node(
  opType: string,
  input: string[],
  output: string[],
  attribute: OnnxTypes.IAttributeProto[] = [],
): OnnxTypes.INodeProto {
  return { opType, input, output, name: `${output[0] ?? opType}_${opType}`, attribute };
}

function encodeModel(graph: OnnxTypes.IGraphProto, docString: string): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: PRODUCER,
      producerVersion: '1',
      docString,
      graph,
    }),
  ).finish();
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const D = TEST_EMBEDDING_DIM;

/** pixel_values [B,3,S,S] → per-channel spatial mean [B,3]. */
function channelMeanNode(): OnnxTypes.INodeProto {
  return node('ReduceMean', ['pixel_values'], ['channel_means'], [intsAttr('axes', [2, 3]), intAttr('keepdims', 0)]);
}

function visionModel(): Uint8Array {
  return encodeModel(
    {
      name: 'align_test_vision',
      input: [valueInfo('pixel_values', FLOAT, ['batch_size', 3, TEST_ALIGN_IMAGE_SIZE, TEST_ALIGN_IMAGE_SIZE])],
      output: [valueInfo('image_embeds', FLOAT, ['batch_size', D])],
      initializer: [
        floatTensor('vision_weight', [3, D], weightTable(3, D, visionWeight)),
        floatTensor('vision_bias', [D], weightVector(D, visionBias)),
      ],
      node: [
        channelMeanNode(),
        node('MatMul', ['channel_means', 'vision_weight'], ['projected']),
        node('Add', ['projected', 'vision_bias'], ['image_embeds']),
      ],
    },
    `${TEST_MODEL_WARNING} image_embeds = mean_hw(pixel_values) · WV + BV.`,
  );
}

function textModel(): Uint8Array {
  const cast = (from: string, to: string) => node('Cast', [from], [to], [intAttr('to', FLOAT)]);
  return encodeModel(
    {
      name: 'align_test_text',
      input: [
        valueInfo('input_ids', INT64, ['batch_size', 'sequence_length']),
        valueInfo('attention_mask', INT64, ['batch_size', 'sequence_length']),
        valueInfo('token_type_ids', INT64, ['batch_size', 'sequence_length']),
      ],
      output: [valueInfo('text_embeds', FLOAT, ['batch_size', D])],
      initializer: [
        floatTensor('text_frequency', [D], weightVector(D, textFrequency)),
        floatTensor('text_phase', [D], weightVector(D, textPhase)),
        floatTensor('text_type_weight', [D], weightVector(D, textTypeWeight)),
        int64Tensor('last_axis', [1], [-1]),
        int64Tensor('sequence_axis', [1], [1]),
      ],
      node: [
        cast('input_ids', 'ids_f'),
        cast('attention_mask', 'mask_f'),
        cast('token_type_ids', 'types_f'),
        node('Unsqueeze', ['ids_f', 'last_axis'], ['ids_3d']),
        node('Mul', ['ids_3d', 'text_frequency'], ['scaled_ids']),
        node('Add', ['scaled_ids', 'text_phase'], ['angles']),
        node('Sin', ['angles'], ['waves']),
        node('Unsqueeze', ['mask_f', 'last_axis'], ['mask_3d']),
        node('Mul', ['waves', 'mask_3d'], ['masked_waves']),
        node('ReduceSum', ['masked_waves', 'sequence_axis'], ['wave_sum'], [intAttr('keepdims', 0)]),
        node('ReduceSum', ['mask_f', 'sequence_axis'], ['token_count'], [intAttr('keepdims', 1)]),
        node('Div', ['wave_sum', 'token_count'], ['wave_mean']),
        node('Mul', ['types_f', 'mask_f'], ['masked_types']),
        node('ReduceSum', ['masked_types', 'sequence_axis'], ['type_sum'], [intAttr('keepdims', 1)]),
        node('Div', ['type_sum', 'token_count'], ['type_mean']),
        node('Mul', ['type_mean', 'text_type_weight'], ['type_term']),
        node('Add', ['wave_mean', 'type_term'], ['text_embeds']),
      ],
    },
    `${TEST_MODEL_WARNING} text_embeds = masked mean of sin(ω·id + φ) + 0.5·mean(type)·cos(φ).`,
  );
}

function vitModel(): Uint8Array {
  const K = TEST_NUM_LABELS;
  return encodeModel(
    {
      name: 'vit_test_classifier',
      input: [valueInfo('pixel_values', FLOAT, ['batch_size', 3, TEST_VIT_IMAGE_SIZE, TEST_VIT_IMAGE_SIZE])],
      output: [valueInfo('logits', FLOAT, ['batch_size', K])],
      initializer: [
        floatTensor('head_weight', [3, K], weightTable(3, K, vitWeight)),
        floatTensor('head_bias', [K], weightVector(K, vitBias)),
        floatTensor('logit_scale', [], new Float32Array([TEST_VIT_LOGIT_SCALE])),
      ],
      node: [
        channelMeanNode(),
        node('MatMul', ['channel_means', 'head_weight'], ['head_out']),
        node('Add', ['head_out', 'head_bias'], ['unscaled_logits']),
        node('Mul', ['unscaled_logits', 'logit_scale'], ['logits']),
      ],
    },
    `${TEST_MODEL_WARNING} logits = 10·(mean_hw(pixel_values) · WT + BT).`,
  );
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
