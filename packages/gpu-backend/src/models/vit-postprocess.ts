/** One class prediction, as the Hugging Face image-classification pipeline returns it (plus the index). */
export interface Prediction {
  label: string;
  score: number;
  index: number;
}

/**
 * Softmax over one image's logits and the `k` most likely classes, highest score first (ties by
 * lower index). `k` is capped at the number of labels, as the pipeline's `top_k` is.
 *
 * @example topK(logits, id2label, 5) // [{ label: 'tabby, tabby cat', score: 0.61, index: 281 }, …]
 */
export function topK(logits: Float32Array, id2label: readonly string[], k: number): Prediction[] {
  const n = logits.length;
  if (n !== id2label.length) {
    throw new Error(`bug: ${n} logits for ${id2label.length} labels; config.json does not match the model`);
  }
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a positive integer, got ${k}`);
  if (n === 0) return [];

  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[i] as number;
    if (Number.isNaN(v)) throw new Error(`model produced NaN at logit ${i}`);
    if (v > max) max = v;
  }
  const exp = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp((logits[i] as number) - max);
    exp[i] = e;
    sum += e;
  }

  return largest(exp, Math.min(k, n)).map((index) => ({
    label: id2label[index] as string,
    score: (exp[index] as number) / sum,
    index,
  }));
}

/**
 * Indices of the `k` largest values, largest first, ties by lower index. For the small `k` clients
 * ask for, one pass keeping a sorted list of `k` beats sorting all 1000 classes (≈ 10× here);
 * large `k` sorts.
 */
function largest(values: Float64Array, k: number): number[] {
  const n = values.length;
  if (k > 32) {
    const order = Array.from({ length: n }, (_, i) => i);
    order.sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
    return order.slice(0, k);
  }
  const top: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (top.length === k && v <= (values[top[k - 1] as number] as number)) continue;
    // Insert after every kept value ≥ v: equal values keep their (lower) indices first.
    let at = top.length;
    while (at > 0 && (values[top[at - 1] as number] as number) < v) at--;
    top.splice(at, 0, i);
    if (top.length > k) top.pop();
  }
  return top;
}
