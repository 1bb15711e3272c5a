/**
 * The deterministic "models" of the fake backend, shared by the fake (in Node) and the tests (in
 * workerd) so expected answers are computed independently of the worker under test.
 */

export const FAKE_DIM = 640;
export const FAKE_TEMPERATURE = 0.05;
export const FAKE_ALIGN_ID = 'align-base';
export const FAKE_VIT_ID = 'vit-large-patch16-384';
export const FAKE_NUM_CLASSES = 1000;
/** The revision every tenant's fake models have until a test switches it (`PUT /__revision/<tenant>`). */
export const FAKE_REVISION = '0123456789abcdef';

async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
}

/** Hex SHA-256; kept apart from the worker's `sha256Hex` on purpose, so expected answers share no code with it. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  return Array.from(await sha256(data), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A vector of `dim` values in [-1, 1) from a seed (xorshift32 seeded by SHA-256 of the seed). */
export async function seededVector(seed: string, dim: number): Promise<number[]> {
  const digest = await sha256(seed);
  let state = ((digest[0] ?? 1) << 24) | ((digest[1] ?? 0) << 16) | ((digest[2] ?? 0) << 8) | (digest[3] ?? 0) || 1;
  const out: number[] = [];
  for (let i = 0; i < dim; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out.push(Math.fround(((state >>> 0) / 2 ** 32) * 2 - 1));
  }
  return out;
}

/** Seeds of the default weights stay as they were, so every revision other than it gets other vectors. */
function weights(revision: string): string {
  return revision === FAKE_REVISION ? '' : `${revision}:`;
}

/** The fake image tower: a function of the image bytes and the weights' revision only. */
export async function fakeImageEmbedding(bytes: Uint8Array, revision = FAKE_REVISION): Promise<number[]> {
  return seededVector(`img:${weights(revision)}${await sha256Hex(bytes)}`, FAKE_DIM);
}

/** The fake text tower: a function of the exact text and the weights' revision only. */
export function fakeTextEmbedding(text: string, revision = FAKE_REVISION): Promise<number[]> {
  return seededVector(`txt:${weights(revision)}${text}`, FAKE_DIM);
}

/** Token count the fake reports: words + [CLS] + [SEP], capped at 64. */
export function fakeTokens(text: string): number {
  return Math.min(64, text.trim().split(/\s+/).length + 2);
}

/** The fake classifier: softmax over 1000 classes of a vector seeded by the image bytes. */
export async function fakeClassify(bytes: Uint8Array, topK: number): Promise<{ label: string; score: number; index: number }[]> {
  const logits = (await seededVector(`cls:${await sha256Hex(bytes)}`, FAKE_NUM_CLASSES)).map((x) => x * 4);
  const max = Math.max(...logits);
  const exps = logits.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps
    .map((e, index) => ({ label: `class_${index}`, score: e / sum, index }))
    .sort((a, b) => b.score - a.score)
    .slice(0, Math.min(topK, FAKE_NUM_CLASSES));
}
