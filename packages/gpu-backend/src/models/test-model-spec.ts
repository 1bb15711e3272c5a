/**
 * The exact maths of the generated test models. The generator builds its ONNX weights from these
 * functions and the tests compute expected outputs with them, so the two can never drift apart.
 *
 * Weights are float32 (`Math.fround`), as stored in the models. The expected-output functions
 * follow the graphs' float32 steps where float32 rounding is large enough to matter (the sine
 * arguments of the text tower) and use float64 elsewhere; outputs agree with onnxruntime to ~1e-6.
 */

/** Width of both ALIGN embeddings (the real `projection_dim`). */
export const TEST_EMBEDDING_DIM = 640;
/** Number of ImageNet-1k classes in the ViT head. */
export const TEST_NUM_LABELS = 1000;
/** Square input side of the ALIGN image tower. */
export const TEST_ALIGN_IMAGE_SIZE = 289;
/** Square input side of the ViT classifier. */
export const TEST_VIT_IMAGE_SIZE = 384;
/** Temperature written to the test ALIGN config.json (real exports write the learned value). */
export const TEST_ALIGN_TEMPERATURE = 0.05;
/** Scale applied to the ViT test logits so that softmax scores are not all alike. */
export const TEST_VIT_LOGIT_SCALE = 10;

/** Per-channel means of an image tensor: red, green, blue. */
export type ChannelMeans = readonly [number, number, number];

const f32 = Math.fround;

/** WV[c][j] = cos(0.9·j + 1.7·c + 0.3): the vision tower's 3×640 projection. */
export function visionWeight(c: number, j: number): number {
  return f32(Math.cos(0.9 * j + 1.7 * c + 0.3));
}

/** BV[j] = 0.1·sin(0.37·j + 0.5). */
export function visionBias(j: number): number {
  return f32(0.1 * Math.sin(0.37 * j + 0.5));
}

/** ω_j = 0.00013·(j + 1): the text tower's per-dimension token-id frequency. */
export function textFrequency(j: number): number {
  return f32(0.00013 * (j + 1));
}

/** φ_j = 0.61·j: the text tower's per-dimension phase. */
export function textPhase(j: number): number {
  return f32(0.61 * j);
}

/** 0.5·cos(φ_j): weight of the mean token-type id. */
export function textTypeWeight(j: number): number {
  return f32(0.5 * Math.cos(0.61 * j));
}

/** WT[c][k] = sin(0.013·k·(c + 1) + c): the ViT head's 3×1000 weights. */
export function vitWeight(c: number, k: number): number {
  return f32(Math.sin(0.013 * k * (c + 1) + c));
}

/** BT[k] = 0.01·cos(0.7·k). */
export function vitBias(k: number): number {
  return f32(0.01 * Math.cos(0.7 * k));
}

/** A row-major [rows, cols] float32 table of `fn(row, col)`. */
export function weightTable(rows: number, cols: number, fn: (r: number, c: number) => number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) out[r * cols + c] = fn(r, c);
  }
  return out;
}

/** A float32 vector of `fn(i)`. */
export function weightVector(length: number, fn: (i: number) => number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = fn(i);
  return out;
}

/**
 * image_embeds of the test vision tower for an image whose pre-processed tensor has these
 * per-channel means: Σ_c m_c·WV[c][j] + BV[j].
 */
export function expectedImageEmbedding(channelMeans: ChannelMeans): Float64Array {
  const out = new Float64Array(TEST_EMBEDDING_DIM);
  for (let j = 0; j < TEST_EMBEDDING_DIM; j++) {
    const [r, g, b] = channelMeans;
    out[j] = r * visionWeight(0, j) + g * visionWeight(1, j) + b * visionWeight(2, j) + visionBias(j);
  }
  return out;
}

/**
 * text_embeds of the test text tower for one unpadded sequence (every token attended):
 * mean_t sin(ω_j·id_t + φ_j) + 0.5·mean_t(type_t)·cos(φ_j). Padding does not change it, because
 * the model averages over attended tokens only, as the real tower's mask makes padding inert.
 */
export function expectedTextEmbedding(ids: readonly number[], typeIds?: readonly number[]): Float64Array {
  if (ids.length === 0) throw new RangeError('expectedTextEmbedding needs at least one token');
  if (typeIds !== undefined && typeIds.length !== ids.length) {
    throw new RangeError(`typeIds has ${typeIds.length} entries for ${ids.length} ids`);
  }
  const n = ids.length;
  let typeMean = 0;
  if (typeIds !== undefined) {
    for (const t of typeIds) typeMean += t;
    typeMean /= n;
  }
  const out = new Float64Array(TEST_EMBEDDING_DIM);
  for (let j = 0; j < TEST_EMBEDDING_DIM; j++) {
    const omega = textFrequency(j);
    const phi = textPhase(j);
    let s = 0;
    for (const id of ids) {
      // The graph computes the argument in float32: Cast(id) → Mul(ω) → Add(φ).
      s += Math.sin(f32(f32(f32(id) * omega) + phi));
    }
    out[j] = s / n + typeMean * textTypeWeight(j);
  }
  return out;
}

/** logits of the test ViT for an image with these per-channel means: 10·(Σ_c m_c·WT[c][k] + BT[k]). */
export function expectedVitLogits(channelMeans: ChannelMeans): Float64Array {
  const out = new Float64Array(TEST_NUM_LABELS);
  for (let k = 0; k < TEST_NUM_LABELS; k++) {
    const [r, g, b] = channelMeans;
    out[k] = TEST_VIT_LOGIT_SCALE * (r * vitWeight(0, k) + g * vitWeight(1, k) + b * vitWeight(2, k) + vitBias(k));
  }
  return out;
}
