/**
 * Expected answers computed from the fake models' definitions, independently of the worker's code.
 */
import { FAKE_REVISION, FAKE_TEMPERATURE, fakeImageEmbedding, fakeTextEmbedding } from './fake-embeddings';

function unit(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

export function cosine(a: number[], b: number[]): number {
  const ua = unit(a);
  const ub = unit(b);
  return ua.reduce((s, x, i) => s + x * (ub[i] ?? 0), 0);
}

/** Zero-shot scores of one image, best first, as the Hugging Face pipeline defines them, under one revision. */
export async function expectedZeroShot(
  image: Uint8Array,
  labels: string[],
  template = 'This is a photo of {}.',
  revision = FAKE_REVISION,
): Promise<{ label: string; score: number }[]> {
  const img = await fakeImageEmbedding(image, revision);
  const logits = await Promise.all(labels.map(async (l) => cosine(img, await fakeTextEmbedding(template.replaceAll('{}', l), revision)) / FAKE_TEMPERATURE));
  const max = Math.max(...logits);
  const exps = logits.map((x) => Math.exp(x - max));
  const total = exps.reduce((a, b) => a + b, 0);
  return labels.map((label, i) => ({ label, score: (exps[i] ?? 0) / total })).sort((a, b) => b.score - a.score);
}

/** Asserts two score lists agree label by label, in order, within `tol`. */
export function sameScores(actual: { label: string; score: number }[], expected: { label: string; score: number }[], tol = 1e-6): boolean {
  return actual.length === expected.length && actual.every((a, i) => a.label === expected[i]?.label && Math.abs(a.score - (expected.at(i)?.score ?? NaN)) < tol);
}
