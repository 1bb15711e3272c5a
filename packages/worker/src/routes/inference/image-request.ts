/**
 * Reads the body of a route that takes images in any of three forms: JSON (`image` / `images` with
 * the other fields beside them), multipart (`image` file parts and text fields), or the raw image
 * (`Content-Type: image/*`, the other fields in the query). Every form ends as the same images and
 * fields, validated by the same schemas, so errors read the same whatever the form.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import type { AppEnv } from '../../env';
import { ProblemError, validationProblem, type FieldError } from '../../errors';
import { MAX_IMAGES_PER_REQUEST, type ImageInput } from '../../schemas/image';
import { claimedImageOf, type ImageSource } from '../../services/claimed-image';
import { acceptImageBytes, checkImageCount, checkRequestPixels, intakeFiles, intakeImageInputs, readMultipart, type IntakeImage } from '../../services/image-intake';
import { parseJsonBody } from '../../services/json-body';
import { readPooled } from '../../services/read-capped';
import type { RequestServices } from '../../runtime';
import { bodyKind, parseFields } from '../shared';

/** The non-image fields of a multipart or raw-image request: form fields or query parameters. */
export interface FieldSource {
  /** Where the values came from, for error messages. */
  in: FieldError['in'];
  /** Every value given for `name`, in order, or undefined when there is none. */
  values(name: string): string[] | undefined;
  /** The first value given for `name`. */
  value(name: string): string | undefined;
}

/** How one route reads its fields. */
export interface ImageRequestOptions<J extends JsonImages, F> {
  /** The JSON body (images and fields together). */
  json: z.ZodType<J>;
  /** The fields of multipart and raw-image requests, validated with the JSON body's rules. */
  fields: z.ZodType<F>;
  /** Collects the fields' raw values: from the form (multipart) or the query (raw image), and the query. */
  collect: (source: FieldSource, query: FieldSource) => unknown;
  /** The fields of a parsed JSON body. */
  fromJson: (body: J) => F;
}

/** What a JSON body carries its images in. */
export interface JsonImages {
  image?: ImageInput | undefined;
  images?: ImageInput[] | undefined;
}

/**
 * An image request, read: `batched` says the answer is a list of lists (`images`, several parts). A raw
 * body with a `Content-Digest` is a claimed image, not read yet (services/claimed-image.ts).
 */
export interface ImageRequest<F, I extends ImageSource = IntakeImage> {
  images: I[];
  batched: boolean;
  fields: F;
}

function fieldSource(location: FieldError['in'], lookup: (name: string) => string[] | undefined): FieldSource {
  const values = (name: string): string[] | undefined => {
    const found = lookup(name);
    return found === undefined || found.length === 0 ? undefined : found;
  };
  return { in: location, values, value: (name) => values(name)?.[0] };
}

/**
 * Reads and checks the images and fields of a request, whichever of the three forms it takes, and
 * holds the request to its image budget (count, then declared pixels) before anything is decoded.
 * A raw or multipart body is read into a buffer of the isolate's pool, held by `svc.bodies`: the
 * route calls `svc.bodies.release()` once its answer is built, and uses no image after that.
 */
export async function readImageRequest<J extends JsonImages, F>(
  c: Context<AppEnv>,
  svc: RequestServices,
  options: ImageRequestOptions<J, F>,
): Promise<ImageRequest<F>> {
  const request = await readImages(c, svc, options, readRawImage);
  checkRequestPixels(request.images, svc.config);
  return request;
}

/**
 * {@link readImageRequest} for the routes that take a claimed image (zero-shot, classify): a raw body
 * with a `Content-Digest` is left unread (see {@link rawBodyImage}); its declared pixels are checked
 * when it is read.
 */
export async function readClaimableImageRequest<J extends JsonImages, F>(
  c: Context<AppEnv>,
  svc: RequestServices,
  options: ImageRequestOptions<J, F>,
): Promise<ImageRequest<F, ImageSource>> {
  const request = await readImages<J, F, ImageSource>(c, svc, options, rawBodyImage);
  checkRequestPixels(request.images, svc.config);
  return request;
}

/** A raw image body, read into a pooled buffer and checked (size, format, declared pixels). */
async function readRawImage(c: Context<AppEnv>, svc: RequestServices): Promise<IntakeImage> {
  const { maxImageBytes } = svc.config;
  const image = await acceptImageBytes(await readPooled(c.req.raw, maxImageBytes, svc.bodies), maxImageBytes);
  checkRequestPixels([image], svc.config);
  return image;
}

/**
 * The image of a raw body: with a `sha-256` `Content-Digest` (and a declared length, no encoding) a
 * claimed image whose body is left unread (services/claimed-image.ts), else the body read and checked
 * ({@link readRawImage}). A claimed image is read the same way when a cache hit needs its bytes.
 */
export async function rawBodyImage(c: Context<AppEnv>, svc: RequestServices): Promise<ImageSource> {
  return (await claimedImageOf(c.req.raw, svc.config.maxImageBytes, () => readRawImage(c, svc))) ?? readRawImage(c, svc);
}

async function readImages<J extends JsonImages, F, I extends ImageSource = IntakeImage>(
  c: Context<AppEnv>,
  svc: RequestServices,
  options: ImageRequestOptions<J, F>,
  raw: (c: Context<AppEnv>, svc: RequestServices) => Promise<I>,
): Promise<ImageRequest<F, IntakeImage | I>> {
  const query = fieldSource('query', (name) => c.req.queries(name));
  const kind = bodyKind(c, true);
  switch (kind) {
    case 'json': {
      const body = parseFields(options.json, await readJson(c), 'body');
      return { ...(await jsonImages(svc, body)), fields: options.fromJson(body) };
    }
    case 'multipart': {
      const parts = await readMultipart(c.req.raw, svc.config.maxRequestBytes, svc.bodies);
      const fields = parseFields(options.fields, options.collect(fieldSource('body', (name) => parts.fields.get(name)), query), 'body');
      checkFileCount(parts.files.length);
      checkImageCount(parts.files.length, svc.config);
      const images = await intakeFiles(parts.files, svc.config.maxImageBytes, svc.imageBudget());
      return { images, batched: parts.files.length > 1, fields };
    }
    case 'binary': {
      const fields = parseFields(options.fields, options.collect(query, query), 'query');
      return { images: [await raw(c, svc)], batched: false, fields };
    }
  }
}

/**
 * The JSON body; malformed JSON is a 400 `invalid_request`, as the library's own validators answer it.
 * Parsed with {@link parseJsonBody}, which keeps the megabytes of an inline image out of `JSON.parse`.
 */
export async function readJson(c: Context<AppEnv>): Promise<unknown> {
  try {
    return parseJsonBody(await c.req.text());
  } catch (err) {
    if (err instanceof SyntaxError) throw new ProblemError('invalid_request', `the body is not valid JSON: ${err.message}`);
    throw err;
  }
}

/** Accepts the `image` / `images` of a JSON body. */
async function jsonImages(svc: RequestServices, body: JsonImages): Promise<{ images: IntakeImage[]; batched: boolean }> {
  const budget = svc.imageBudget();
  if (body.images !== undefined) {
    checkImageCount(body.images.length, svc.config);
    return { images: await intakeImageInputs(body.images, svc.intake, budget, (i) => `images[${i}]`), batched: true };
  }
  if (body.image === undefined) throw new Error('bug: the request schema admits a body without images');
  return { images: await intakeImageInputs([body.image], svc.intake, budget, () => 'image'), batched: false };
}

/** Refuses multipart bodies without image parts or with too many. */
function checkFileCount(count: number): void {
  if (count === 0) throw validationProblem([{ in: 'body', path: 'image', message: 'add at least one file part named "image"' }]);
  if (count > MAX_IMAGES_PER_REQUEST) {
    throw validationProblem([{ in: 'body', path: 'image', message: `at most ${MAX_IMAGES_PER_REQUEST} image parts` }]);
  }
}

/**
 * Reads labels given as query parameters or form fields: the parameter repeated once per label, or
 * one value holding a JSON array, or one comma-separated value.
 */
export function labelList(values: readonly string[] | undefined, location: FieldError['in']): string[] | undefined {
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) return [...values];
  const single = (values[0] ?? '').trim();
  if (single.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(single);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || !parsed.every((v): v is string => typeof v === 'string')) {
      throw validationProblem([{ in: location, path: 'labels', message: 'a labels value starting with "[" must be a JSON array of strings' }]);
    }
    return parsed;
  }
  return single.split(',').map((s) => s.trim());
}
