/**
 * Hugging Face Inference API-compatible endpoints: `POST /hf/models/{model}` (and `{namespace}/{model}`
 * for Hub ids), answered by the same services, caches, auth and rate limits as the native routes. Point
 * a Hugging Face client's `endpointUrl` here and it works unchanged:
 *
 * - ALIGN (`kakaobrain/align-base`, `align-base`): zero-shot image classification when candidate labels
 *   are given (`parameters.candidate_labels`, or `candidate_labels` in the query for a raw image body),
 *   otherwise feature extraction: a text → `number[]`, a list of texts → `number[][]`, an image →
 *   `number[]` (its ALIGN image embedding).
 * - ViT (`google/vit-large-patch16-384`, `vit-large-patch16-384`): image classification, `top_k` from
 *   `parameters.top_k` or the query (the clients send the image raw and drop `parameters`).
 *
 * A raw image body is recognised by its bytes, whatever its Content-Type says or when it has none.
 */
import { createRoute, z, type OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppEnv } from '../../env';
import { fieldErrorsFromZod, ProblemError, validationProblem, type FieldError } from '../../errors';
import {
  HfModelParamSchema,
  HfNamespacedModelParamSchema,
  HfQuerySchema,
  HfRequestSchema,
  HfResponseSchema,
  type HfRequest,
  type HfResponse,
} from '../../schemas/hf';
import { binaryImageBody } from '../../schemas/image';
import { problemResponse } from '../../schemas/problem';
import { checkHypothesisLengths, DEFAULT_HYPOTHESIS_TEMPLATE, HypothesisTemplateSchema, LabelsSchema, TopKSchema } from '../../schemas/inference';
import type { RequestServices } from '../../runtime';
import { acceptImageBytes, checkRequestPixels, intakeImageInputs, type IntakeImage } from '../../services/image-intake';
import { readCapped } from '../../services/read-capped';
import { DEFAULT_TOP_K } from '../inference/classify';
import { labelList } from '../inference/image-request';
import { imageInputOf } from './openai-embeddings';
import { bearerSecurity, inferenceProblemResponses, openapiOwnBody, parseFields, inlineImageJson, requestBodyLimit } from '../shared';
import { ACCEPTED_MODEL_IDS, modelFamily, servedModels, type ModelFamily } from './model-ids';

const ZeroShotFieldsSchema = z.object({ labels: LabelsSchema, hypothesis_template: HypothesisTemplateSchema.optional() }).superRefine(checkHypothesisLengths);
const ClassifyFieldsSchema = z.object({ top_k: TopKSchema.optional() });

/** `x-cache` of the HF endpoints: whether the embeddings or classes came from the cache. */
const hfCacheHeader = z.object({
  'x-cache': z.enum(['hit', 'miss', 'partial']).openapi({ description: 'Whether every embedding or ranking came from the cache (`hit`), none (`miss`) or some.' }),
});

const EXAMPLE_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==';

const DESCRIPTION =
  'The Hugging Face Inference API’s request and answer shapes, for its clients (`@huggingface/inference` with `endpointUrl`, ' +
  '`huggingface_hub`’s `InferenceClient(base_url=…)`). The task follows from the model and the body:\n\n' +
  '- **ALIGN** (`kakaobrain/align-base`, `align-base`): with candidate labels (`parameters.candidate_labels`, or `candidate_labels` ' +
  'in the query for a raw image body) zero-shot image classification → `[{label, score}]`, best first; otherwise feature ' +
  'extraction → `number[]` for one text or image, `number[][]` for a list of texts (L2-normalised unless `normalize: false`).\n' +
  '- **ViT** (`google/vit-large-patch16-384`, `vit-large-patch16-384`): image classification → `[{label, score}]`, best first; ' +
  '`top_k` from `parameters.top_k` or the query (default 5).\n\n' +
  'The body is JSON (`{inputs, parameters}`) or the raw image, recognised by its bytes whatever the Content-Type (or none). ' +
  'Errors are problem+json whose `error` member is the message, as Hugging Face’s own API answers.';

const request = {
  query: HfQuerySchema,
  body: {
    content: {
      'application/json': {
        schema: HfRequestSchema,
        examples: {
          zeroShot: { summary: 'Zero-shot (ALIGN)', value: { inputs: { image: EXAMPLE_PNG }, parameters: { candidate_labels: ['cat', 'dog'] } } },
          featureExtraction: { summary: 'Text embeddings (ALIGN)', value: { inputs: ['a photo of a cat', 'a photo of a dog'] } },
          classification: { summary: 'Image classification (ViT)', value: { inputs: EXAMPLE_PNG, parameters: { top_k: 3 } } },
        },
      },
      'image/*': binaryImageBody,
      'application/octet-stream': binaryImageBody,
    },
    required: true,
  },
};

const responses = {
  200: {
    description: 'Labels with scores (best first), or embeddings.',
    headers: hfCacheHeader,
    content: {
      'application/json': {
        schema: HfResponseSchema,
        examples: {
          scores: { summary: 'Zero-shot or classification', value: [{ label: 'cat', score: 0.93 }, { label: 'dog', score: 0.07 }] },
          embedding: { summary: 'Feature extraction of one text', value: [0.0123, -0.0456, 0.0789] },
        },
      },
    },
  },
  404: problemResponse('The model is not served here', ['not_found']),
  ...inferenceProblemResponses,
} as const;

export const hfRoute = createRoute({
  operationId: 'hfInference',
  method: 'post',
  path: '/hf/models/{model}',
  tags: ['inference'],
  summary: 'Hugging Face Inference API: zero-shot, feature extraction, image classification',
  description: DESCRIPTION,
  security: bearerSecurity,
  middleware: [requestBodyLimit(), inlineImageJson()] as const,
  request: { ...request, params: HfModelParamSchema },
  responses,
});

export const hfNamespacedRoute = createRoute({
  operationId: 'hfInferenceNamespaced',
  method: 'post',
  path: '/hf/models/{namespace}/{model}',
  tags: ['inference'],
  summary: 'Hugging Face Inference API, by Hub id (`kakaobrain/align-base`, `google/vit-large-patch16-384`)',
  description: DESCRIPTION,
  security: bearerSecurity,
  middleware: [requestBodyLimit(), inlineImageJson()] as const,
  request: { ...request, params: HfNamespacedModelParamSchema },
  responses,
});

/** What an HF request carries once read: a JSON body, or a raw image with the query's fields. */
type HfBody = { kind: 'json'; body: HfRequest } | { kind: 'image'; image: IntakeImage };

/** The query's values for `name`, or undefined when absent. */
function queryValues(c: Context<AppEnv>, name: string): string[] | undefined {
  const values = c.req.queries(name);
  return values === undefined || values.length === 0 ? undefined : values;
}

/** Reads the body: JSON by its Content-Type, anything else as a raw image recognised by its bytes. */
async function readHfBody(c: Context<AppEnv>, svc: RequestServices): Promise<HfBody> {
  const contentType = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (contentType === 'application/json' || /^application\/[\w.-]+\+json$/.test(contentType)) {
    let json: unknown;
    try {
      json = await c.req.json<unknown>();
    } catch (err) {
      if (err instanceof SyntaxError) throw new ProblemError('invalid_request', `the body is not valid JSON: ${err.message}`);
      throw err;
    }
    return { kind: 'json', body: parseFields(HfRequestSchema, json, 'body') };
  }
  if (contentType !== '' && !contentType.startsWith('image/') && contentType !== 'application/octet-stream') {
    throw new ProblemError('unsupported_media_type', `Content-Type ${contentType} is not accepted here; send application/json or the image`);
  }
  const bytes = await readCapped(c.req.raw, svc.config.maxImageBytes);
  return { kind: 'image', image: await acceptImageBytes(bytes, svc.config.maxImageBytes) };
}

/** The one image of a request: the raw body, or `inputs` (`{image}` or a string) of a JSON body. */
async function oneImage(svc: RequestServices, read: HfBody): Promise<IntakeImage> {
  if (read.kind === 'image') return read.image;
  const { inputs } = read.body;
  const image = typeof inputs === 'string' ? inputs : Array.isArray(inputs) ? undefined : inputs.image;
  if (image === undefined) {
    throw new ProblemError('validation_failed', 'inputs: this task takes one image: {"image": "<base64>"} or the raw image body', {
      errors: [{ in: 'body', path: 'inputs', message: 'this task takes one image' }],
    });
  }
  const field = typeof inputs === 'string' ? 'inputs' : 'inputs.image';
  const [intake] = await intakeImageInputs([imageInputOf(image)], svc.intake, svc.imageBudget(), () => field);
  if (intake === undefined) throw new Error('bug: one image input gave no image');
  return intake;
}

/** Validates zero-shot fields with the native route's rules, naming the labels where the client put them. */
function parseZeroShot(fields: { labels: string[]; hypothesis_template?: string | undefined }, location: FieldError['in'], prefix: string) {
  const parsed = ZeroShotFieldsSchema.safeParse(fields);
  if (parsed.success) return parsed.data;
  const errors = fieldErrorsFromZod(parsed.error, location).map((e) => ({ ...e, path: prefix + e.path.replace(/^labels/, 'candidate_labels') }));
  throw validationProblem(errors);
}

/** Labels and template from `parameters` (JSON) or the query (raw image); undefined when none are given. */
function zeroShotFields(c: Context<AppEnv>, read: HfBody): z.infer<typeof ZeroShotFieldsSchema> | undefined {
  if (read.kind === 'json') {
    const params = read.body.parameters;
    if (params?.candidate_labels === undefined) return undefined;
    const labels = typeof params.candidate_labels === 'string' ? (labelList([params.candidate_labels], 'body') ?? []) : params.candidate_labels;
    return parseZeroShot({ labels, hypothesis_template: params.hypothesis_template }, 'body', 'parameters.');
  }
  const labels = labelList(queryValues(c, 'candidate_labels'), 'query');
  if (labels === undefined) return undefined;
  return parseZeroShot({ labels, hypothesis_template: queryValues(c, 'hypothesis_template')?.[0] }, 'query', '');
}

/** Runs the task the model and the body select. */
async function answer(c: Context<AppEnv>, svc: RequestServices, family: ModelFamily, read: HfBody): Promise<HfResponse> {
  if (family === 'vit') {
    const queryTopK = parseFields(ClassifyFieldsSchema, { top_k: queryValues(c, 'top_k')?.[0] }, 'query').top_k;
    const topK = (read.kind === 'json' ? read.body.parameters?.top_k : undefined) ?? queryTopK;
    const image = await oneImage(svc, read);
    checkRequestPixels([image], svc.config);
    const [classes] = await svc.classifier.classify([image], topK ?? DEFAULT_TOP_K);
    c.header('x-cache', svc.classifier.cacheStatus);
    return classes ?? [];
  }
  const zeroShot = zeroShotFields(c, read);
  const normalize = read.kind === 'json' ? (read.body.normalize ?? true) : true;
  const { inputs } = read.kind === 'json' ? read.body : { inputs: undefined };
  if (zeroShot === undefined && (typeof inputs === 'string' || Array.isArray(inputs))) {
    // Feature extraction of texts: a text gives one vector, a list one vector per text.
    const texts = typeof inputs === 'string' ? [inputs] : inputs;
    const result = await svc.inference.embeddings(texts, [], normalize);
    c.header('x-cache', svc.inference.cacheStatus);
    const vectors = result.texts.map((v) => Array.from(v));
    return typeof inputs === 'string' ? (vectors[0] ?? []) : vectors;
  }
  const image = await oneImage(svc, read);
  checkRequestPixels([image], svc.config);
  if (zeroShot === undefined) {
    const result = await svc.inference.embeddings([], [image], normalize);
    c.header('x-cache', svc.inference.cacheStatus);
    return Array.from(result.images[0] ?? []);
  }
  const [scores] = await svc.inference.zeroShot([image], zeroShot.labels, zeroShot.hypothesis_template ?? DEFAULT_HYPOTHESIS_TEMPLATE);
  c.header('x-cache', svc.inference.cacheStatus);
  return scores ?? [];
}

/** The handler of both paths: resolves the model, reads the body, runs the task. */
async function hfHandler(c: Context<AppEnv>): Promise<Response> {
  const namespace = c.req.param('namespace');
  const model = c.req.param('model') ?? '';
  const id = namespace === undefined ? model : `${namespace}/${model}`;
  const svc = c.var.services();
  const family = modelFamily(id) ?? modelFamily(id, await servedModels(c.env.CACHE, svc));
  if (family === undefined) throw new ProblemError('not_found', `model ${id} is not served here; use one of ${ACCEPTED_MODEL_IDS.join(', ')}`);
  const read = await readHfBody(c, svc);
  return c.json(await answer(c, svc, family, read), 200);
}

/** Registers `POST /hf/models/{model}` and `POST /hf/models/{namespace}/{model}`. */
export function registerHfRoutes(app: OpenAPIHono<AppEnv>): void {
  for (const route of [hfRoute, hfNamespacedRoute] as RouteConfig[]) openapiOwnBody(app, route, hfHandler);
}
