/**
 * The clients people already have, unchanged, against the real local stack (GPU backend process +
 * worker in workerd): the published `openai` and `@huggingface/inference` packages pointed at the edge
 * get the same numbers as the native routes, decode base64 embeddings to the same floats, surface a
 * wrong key as their own authentication error, and work from a page in headless Chromium on another
 * origin (CORS preflight with their own headers).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InferenceClient, InferenceClientProviderApiError } from '@huggingface/inference';
import { build } from 'esbuild';
import OpenAI, { AuthenticationError } from 'openai';
import { chromium, type Browser } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, startStack, type Stack } from './harness/stack.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const LABELS = ['cat', 'dog', 'car'];
const TEXTS = ['a photo of a cat', 'a photo of a dog'];

interface LabelScore {
  label: string;
  score: number;
}

/** What the browser page's bundle puts on `window`: each client making one call. */
interface CompatPage {
  openaiEmbeddings(baseURL: string, apiKey: string, input: string[]): Promise<number[][]>;
  hfZeroShot(endpointUrl: string, apiKey: string, pngBase64: string, labels: string[]): Promise<LabelScore[]>;
  hfClassify(endpointUrl: string, apiKey: string, pngBase64: string): Promise<LabelScore[]>;
}

declare global {
  interface Window {
    compat?: CompatPage;
  }
}

/** The page's script: both clients, bundled for the browser as an app would bundle them. */
const PAGE_ENTRY = `
import OpenAI from 'openai';
import { InferenceClient } from '@huggingface/inference';
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
window.compat = {
  async openaiEmbeddings(baseURL, apiKey, input) {
    const client = new OpenAI({ baseURL, apiKey, dangerouslyAllowBrowser: true, maxRetries: 0 });
    const res = await client.embeddings.create({ model: 'kakaobrain/align-base', input });
    return res.data.map((d) => d.embedding);
  },
  hfZeroShot(endpointUrl, apiKey, pngBase64, labels) {
    return new InferenceClient(apiKey).zeroShotImageClassification({ endpointUrl, inputs: { image: new Blob([bytes(pngBase64)]) }, parameters: { candidate_labels: labels } });
  },
  hfClassify(endpointUrl, apiKey, pngBase64) {
    // A Blob without a type: the request goes out with no Content-Type.
    return new InferenceClient(apiKey).imageClassification({ endpointUrl, inputs: new Blob([bytes(pngBase64)]) });
  },
};
`;

/** Two colour blocks and a gradient, so the image embedding is not trivial. */
async function makePng(): Promise<Buffer> {
  const width = 64;
  const height = 48;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = x < width / 2 ? 210 : Math.round((x / width) * 255);
      pixels[i + 1] = 110;
      pixels[i + 2] = Math.round((y / height) * 255);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

describe('the OpenAI and Hugging Face clients against the real stack', () => {
  let stack: Stack;
  let png: Uint8Array<ArrayBuffer>;
  let pngBase64: string;
  let browser: Browser | undefined;
  let pageServer: Server | undefined;

  /** A native route's JSON answer, asked with plain fetch. */
  async function native<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${stack.workerUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    return res.json() as Promise<T>;
  }
  const nativeTexts = async (texts: string[]) =>
    (await native<{ data: { embedding: number[] }[] }>('/v1/embeddings', { texts })).data.map((d) => d.embedding);
  const hfUrl = (model: string) => `${stack.workerUrl}/hf/models/${model}`;

  beforeAll(async () => {
    stack = await startStack();
    const bytes = await makePng();
    png = new Uint8Array(bytes);
    pngBase64 = bytes.toString('base64');
  });
  afterAll(async () => {
    await browser?.close();
    pageServer?.close();
    // Unset when beforeAll failed before starting it.
    await (stack as Stack | undefined)?.stop();
  });

  describe('openai 6.49.0', () => {
    const client = () => new OpenAI({ baseURL: `${stack.workerUrl}/v1`, apiKey: stack.apiKey, maxRetries: 0 });

    it('embeddings.create (base64 on the wire, its default) decodes to the native route’s floats', async () => {
      const res = await client().embeddings.create({ model: 'kakaobrain/align-base', input: TEXTS });
      expect(res.object).toBe('list');
      expect(res.data.map((d) => d.index)).toEqual([0, 1]);
      expect(res.data.map((d) => d.embedding)).toEqual(await nativeTexts(TEXTS));
      expect(res.usage.prompt_tokens).toBeGreaterThan(0);
    });

    it('embeddings.create with encoding_format float gives the same numbers', async () => {
      const res = await client().embeddings.create({ model: 'align-base', input: TEXTS[0] ?? '', encoding_format: 'float' });
      expect(res.data.map((d) => d.embedding)).toEqual(await nativeTexts([TEXTS[0] ?? '']));
    });

    it('models.retrieve and models.list read the served models', async () => {
      const model = await client().models.retrieve('align-base');
      expect(model).toMatchObject({ id: 'align-base', object: 'model', owned_by: 'kakaobrain' });
      const ids: string[] = [];
      for await (const m of client().models.list()) ids.push(m.id);
      expect(ids).toEqual(expect.arrayContaining(['align-base', 'vit-large-patch16-384']));
    });

    it('shows a refused dimensions as a BadRequestError carrying the message', async () => {
      const error: unknown = await client()
        .embeddings.create({ model: 'align-base', input: 'x', dimensions: 256 })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('cannot be shortened');
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('dimensions');
    });

    it('surfaces a wrong key as its AuthenticationError, with the message', async () => {
      const wrong = new OpenAI({ baseURL: `${stack.workerUrl}/v1`, apiKey: 'coyo_not_a_real_key', maxRetries: 0 });
      const error: unknown = await wrong.embeddings.create({ model: 'align-base', input: 'x' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuthenticationError);
      expect((error as AuthenticationError).status).toBe(401);
      expect((error as AuthenticationError).message).toMatch(/API key/);
    });
  });

  describe('@huggingface/inference 4.13.30', () => {
    const hf = () => new InferenceClient(stack.apiKey);

    it('zeroShotImageClassification gives the native zero-shot scores', async () => {
      const scores = await hf().zeroShotImageClassification({
        endpointUrl: hfUrl('kakaobrain/align-base'),
        inputs: { image: new Blob([png]) },
        parameters: { candidate_labels: LABELS },
      });
      expect(scores).toEqual(await native<LabelScore[]>('/v1/zero-shot', { image: { base64: pngBase64 }, labels: LABELS }));
    });

    it('imageClassification of an untyped Blob gives the native classes, top_k from the endpoint URL', async () => {
      const byDefault = await hf().imageClassification({ endpointUrl: hfUrl('google/vit-large-patch16-384'), inputs: new Blob([png]) });
      expect(byDefault).toEqual(await native<LabelScore[]>('/v1/classify', { image: { base64: pngBase64 } }));
      const top2 = await hf().imageClassification({ endpointUrl: `${hfUrl('google/vit-large-patch16-384')}?top_k=2`, inputs: new Blob([png]) });
      expect(top2).toEqual(byDefault.slice(0, 2));
    });

    it('featureExtraction gives the native text embeddings, one or several', async () => {
      const [expectedOne, expectedTwo] = await nativeTexts(TEXTS);
      expect(await hf().featureExtraction({ endpointUrl: hfUrl('kakaobrain/align-base'), inputs: TEXTS[0] ?? '' })).toEqual(expectedOne);
      expect(await hf().featureExtraction({ endpointUrl: hfUrl('kakaobrain/align-base'), inputs: TEXTS })).toEqual([expectedOne, expectedTwo]);
    });

    it('surfaces a wrong key as its provider API error with status 401 and the message', async () => {
      const error: unknown = await new InferenceClient('coyo_not_a_real_key')
        .featureExtraction({ endpointUrl: hfUrl('kakaobrain/align-base'), inputs: 'x' })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InferenceClientProviderApiError);
      expect((error as InferenceClientProviderApiError).httpResponse.status).toBe(401);
      expect((error as InferenceClientProviderApiError).message).toMatch(/API key/);
    });
  });

  it('both clients work from a page on another origin in headless Chromium', async () => {
    const bundle = await build({
      stdin: { contents: PAGE_ENTRY, resolveDir: REPO_ROOT, loader: 'js' },
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      target: 'chrome120',
      logLevel: 'silent',
    });
    const script = bundle.outputFiles[0]?.text ?? '';
    expect(script.length).toBeGreaterThan(0);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('requestfailed', (request) => problems.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText ?? 'failed'}`));
    // The page comes from its own server on loopback (another port: another origin), so every API
    // call is cross-origin and preflighted, and Chromium's local-network rules do not apply.
    pageServer = createServer((req, res) => {
      const isScript = req.url === '/page.js';
      res.writeHead(200, { 'content-type': isScript ? 'text/javascript' : 'text/html' });
      res.end(isScript ? script : '<!doctype html><script type="module" src="/page.js"></script>');
    });
    const server = pageServer;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => window.compat !== undefined);
    const args = { base: stack.workerUrl, key: stack.apiKey, image: pngBase64, labels: LABELS, texts: TEXTS };
    const run = page.evaluate(async ({ base, key, image, labels, texts }) => {
      const compat = window.compat;
      if (compat === undefined) throw new Error('the page script did not load');
      return {
        embeddings: await compat.openaiEmbeddings(`${base}/v1`, key, texts),
        zeroShot: await compat.hfZeroShot(`${base}/hf/models/kakaobrain/align-base`, key, image, labels),
        classes: await compat.hfClassify(`${base}/hf/models/google/vit-large-patch16-384`, key, image),
      };
    }, args);
    const results = await run.catch((error: unknown) => {
      throw new Error(`${String(error)}\n${problems.join('\n')}`);
    });
    expect(problems).toEqual([]);
    expect(results.embeddings).toEqual(await nativeTexts(TEXTS));
    expect(results.zeroShot).toEqual(await native<LabelScore[]>('/v1/zero-shot', { image: { base64: args.image }, labels: LABELS }));
    expect(results.classes).toEqual(await native<LabelScore[]>('/v1/classify', { image: { base64: args.image } }));
  });
});
