/**
 * Example requests and answers of the inference routes, shown by the API reference page;
 * `scripts/openapi-lint.test.ts` parses each with the route's schema so none can drift.
 */
import { bytesToBase64, float32ToBytes } from '../../services/encoding';

/** A 1×1 red PNG: small enough to read, and an image every inference route accepts. */
const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==';

/** ALIGN's learned temperature, as `/v1/models` reports it. */
const ALIGN_TEMPERATURE = 0.05;
const ALIGN_DIM = 640;

export const zeroShotRequestExample = {
  image: { base64: PNG_BASE64 },
  labels: ['cat', 'dog', 'bird'],
  hypothesis_template: 'This is a photo of {}.',
};
export const zeroShotResponseExample = [
  { label: 'cat', score: 0.9312 },
  { label: 'dog', score: 0.0571 },
  { label: 'bird', score: 0.0117 },
];

export const classifyRequestExample = { image: { base64: PNG_BASE64 }, top_k: 3 };
export const classifyResponseExample = [
  { label: 'tabby, tabby cat', score: 0.6231 },
  { label: 'tiger cat', score: 0.2012 },
  { label: 'Egyptian cat', score: 0.1104 },
];

export const embeddingsRequestExample = { texts: ['a photo of a cat'], encoding_format: 'base64' };

/** An L2-normalised 640-dim vector as `encoding_format: "base64"` sends it: little-endian float32 bytes. */
function exampleEmbedding(): string {
  const v = new Float32Array(ALIGN_DIM);
  for (let i = 0; i < v.length; i++) v[i] = Math.sin(i + 1);
  const norm = Math.hypot(...v);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / norm;
  return bytesToBase64(float32ToBytes(v));
}

export const embeddingsResponseExample = {
  model: 'align-base',
  dim: ALIGN_DIM,
  data: [{ index: 0, type: 'text', embedding: exampleEmbedding() }],
  // [CLS] a photo of a cat [SEP]
  usage: { text_tokens: 7, images: 0 },
};

export const similarityRequestExample = { images: [{ base64: PNG_BASE64 }], texts: ['a photo of a cat', 'a photo of a dog'] };
const COSINE = [[0.3121, 0.2507]];
export const similarityResponseExample = {
  model: 'align-base',
  cosine: COSINE,
  logits: COSINE.map((row) => row.map((c) => Number((c / ALIGN_TEMPERATURE).toFixed(4)))),
  temperature: ALIGN_TEMPERATURE,
};
