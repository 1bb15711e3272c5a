/**
 * The arithmetic of ALIGN scoring, kept apart so it can be checked against the model's definition:
 * `logits_per_image = normalise(image) · normalise(text)ᵀ / temperature`, softmax over the labels.
 */

/** The L2-normalised copy of a vector (a zero vector stays zero rather than becoming NaN). */
export function l2Normalize(v: ArrayLike<number>): Float64Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += (v[i] ?? 0) ** 2;
  const norm = Math.sqrt(sum);
  const out = new Float64Array(v.length);
  if (norm === 0) return out;
  for (let i = 0; i < v.length; i++) out[i] = (v[i] ?? 0) / norm;
  return out;
}

/** Dot product of two vectors of the same length. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`vectors differ in length: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] ?? 0) * (b[i] ?? 0);
  return s;
}

/** Cosine similarity matrix: rows are images, columns are texts. */
export function cosineMatrix(images: readonly ArrayLike<number>[], texts: readonly ArrayLike<number>[]): number[][] {
  return unitCosineMatrix(images.map(l2Normalize), texts.map(l2Normalize));
}

/** {@link cosineMatrix} of vectors already L2-normalised: the dot products. */
export function unitCosineMatrix(images: readonly ArrayLike<number>[], texts: readonly ArrayLike<number>[]): number[][] {
  return images.map((img) => texts.map((txt) => dot(img, txt)));
}

/** Numerically stable softmax (the maximum is subtracted before exponentiating). */
export function softmax(logits: readonly number[]): number[] {
  if (logits.length === 0) return [];
  const max = Math.max(...logits);
  const exps = logits.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/** Labels with softmax scores, best first; ties keep the request order. */
export function rankLabels(labels: readonly string[], logits: readonly number[]): { label: string; score: number }[] {
  const scores = softmax(logits);
  return labels
    .map((label, i) => ({ label, score: scores[i] ?? 0, i }))
    .sort((a, b) => b.score - a.score || a.i - b.i)
    .map(({ label, score }) => ({ label, score }));
}
