import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { Coyo } from '@coyo/sdk';
import {
  TEST_ALIGN_TEMPERATURE,
  expectedImageEmbedding,
  expectedTextEmbedding,
} from '@coyo/gpu-backend/test-models';
import { REPO_ROOT, startStack, type Stack } from './harness/stack.ts';

// A uniform colour survives resize and crop unchanged, so the pixel tensor the backend must build is
// known exactly: every value of channel c is rgb[c] / 127.5 − 1 (ALIGN's rescale with offset).
const RGB: [number, number, number] = [200, 100, 50];
// Real bert-base-uncased ids of "[CLS] this is a photo of {label} . [SEP]" (the default template).
const TEMPLATE_IDS = (labelId: number) => [101, 2023, 2003, 1037, 6302, 1997, labelId, 1012, 102];
const LABEL_IDS: Record<string, number> = { cat: 4937, dog: 3899, people: 2111 };

function normalise(v: Float64Array): Float64Array {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** Zero-shot scores computed independently of the stack, from the test models' defining formulas. */
function expectedScores(means: [number, number, number], temperature: number, ids: Record<string, number[]>) {
  const image = normalise(expectedImageEmbedding(means));
  const logits = Object.entries(ids).map(([label, seq]) => {
    const text = normalise(expectedTextEmbedding(seq));
    let dot = 0;
    for (let j = 0; j < image.length; j++) dot += (image[j] ?? Number.NaN) * (text[j] ?? Number.NaN);
    return { label, logit: dot / temperature };
  });
  const max = Math.max(...logits.map((l) => l.logit));
  const exps = logits.map((l) => Math.exp(l.logit - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return logits.map((l, i) => ({ label: l.label, score: (exps[i] ?? Number.NaN) / sum })).sort((a, b) => b.score - a.score);
}

const rightMeans = RGB.map((v) => Math.fround(Math.fround(v / 127.5) - 1)) as [number, number, number];
const rightIds = Object.fromEntries(Object.entries(LABEL_IDS).map(([l, id]) => [l, TEMPLATE_IDS(id)]));
const EXPECTED = expectedScores(rightMeans, TEST_ALIGN_TEMPERATURE, rightIds);
const TOLERANCE = 1e-4;

function maxScoreDiff(a: { label: string; score: number }[], b: { label: string; score: number }[]): number {
  const byLabel = new Map(b.map((x) => [x.label, x.score]));
  return Math.max(...a.map((x) => Math.abs(x.score - (byLabel.get(x.label) ?? Number.NaN))));
}

describe('zero-shot through the real stack', () => {
  let stack: Stack;
  let png: Buffer;

  beforeAll(async () => {
    stack = await startStack();
    png = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: RGB[0], g: RGB[1], b: RGB[2] } } })
      .png()
      .toBuffer();
  });
  afterAll(async () => {
    // Unset when beforeAll failed before starting it.
    await (stack as Stack | undefined)?.stop();
  });

  it('the expected scores are sensitive to each pipeline step they guard', () => {
    // Without the [-1, 1] offset (x/255) the image embedding, and so the scores, change.
    const noOffset = expectedScores(RGB.map((v) => v / 255) as [number, number, number], TEST_ALIGN_TEMPERATURE, rightIds);
    expect(maxScoreDiff(noOffset, EXPECTED)).toBeGreaterThan(10 * TOLERANCE);
    // A temperature of 1 (config's initial value instead of the learned one) flattens the scores.
    expect(maxScoreDiff(expectedScores(rightMeans, 1, rightIds), EXPECTED)).toBeGreaterThan(10 * TOLERANCE);
    // Tokenisation without lower-casing maps "This" to [UNK] (100) and changes the text embedding.
    const cased = Object.fromEntries(Object.entries(rightIds).map(([l, ids]) => [l, [101, 100, ...ids.slice(2)]]));
    expect(maxScoreDiff(expectedScores(rightMeans, TEST_ALIGN_TEMPERATURE, cased), EXPECTED)).toBeGreaterThan(10 * TOLERANCE);
  });

  it('returns the scores the test models must give, through the SDK', async () => {
    const client = new Coyo({ baseURL: stack.workerUrl, apiKey: stack.apiKey });
    const result = await client.zeroShot({ image: { base64: png.toString('base64') }, labels: Object.keys(LABEL_IDS) });
    expect(result.map((r) => r.label)).toEqual(EXPECTED.map((r) => r.label));
    expect(maxScoreDiff(result, EXPECTED)).toBeLessThan(TOLERANCE);
    expect(result.reduce((s, r) => s + r.score, 0)).toBeCloseTo(1, 6);
  });

  it('returns the same scores to a plain fetch with a data URL', async () => {
    const response = await fetch(`${stack.workerUrl}/v1/zero-shot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: { base64: `data:image/png;base64,${png.toString('base64')}` }, labels: ['cat', 'dog', 'people'] }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBeTruthy();
    const body = (await response.json()) as { label: string; score: number }[];
    expect(body.map((r) => r.label)).toEqual(EXPECTED.map((r) => r.label));
    expect(maxScoreDiff(body, EXPECTED)).toBeLessThan(TOLERANCE);
  });

  it("gives the README's documented answer for its curl example", async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const documented = /^# (\[\{"label":"cat".*\])$/m.exec(readme)?.[1];
    expect(documented, 'README shows the JSON answer of its curl example').toBeDefined();
    const example = readFileSync(join(REPO_ROOT, 'docs', 'example.png'));
    const response = await fetch(`${stack.workerUrl}/v1/zero-shot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: { base64: example.toString('base64') }, labels: ['cat', 'dog'] }),
    });
    const body = (await response.json()) as { label: string; score: number }[];
    if (documented === undefined) throw new Error('the README documents no example answer');
    const expected = JSON.parse(documented) as { label: string; score: number }[];
    expect(body.map((r) => r.label)).toEqual(expected.map((r) => r.label));
    expect(maxScoreDiff(body, expected)).toBeLessThan(1e-9);
  });

  it('answers a request without a key with a 401 problem', async () => {
    const response = await fetch(`${stack.workerUrl}/v1/zero-shot`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ image: { base64: png.toString('base64') }, labels: ['cat'] }),
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
  });
});
