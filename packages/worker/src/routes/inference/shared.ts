/**
 * What the image routes share: telling the three body kinds apart (JSON, multipart, raw image), the
 * request body cap, turning labels given as query or form fields into a list, and the route
 * metadata every inference route declares.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { z } from 'zod';
import { fieldErrorsFromZod, ProblemError, validationProblem, type FieldError } from '../../errors';
import { MAX_IMAGES_PER_REQUEST } from '../../schemas/image';
import { backendProblemResponses, commonProblemResponses, imageProblemResponses } from '../../schemas/problem';
import type { ImageInput } from '../../schemas/image';
import { intakeImageInputs, type IntakeImage } from '../../services/image-intake';
import type { RequestServices } from '../../runtime';

export type BodyKind = 'json' | 'multipart' | 'binary';

/** Which of the accepted body kinds a request carries, from its Content-Type. */
export function bodyKind(c: Context, acceptsRaw: boolean): BodyKind {
  const contentType = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (contentType === 'application/json' || /^application\/[\w.-]+\+json$/.test(contentType)) return 'json';
  if (acceptsRaw && contentType === 'multipart/form-data') return 'multipart';
  if (acceptsRaw && (contentType.startsWith('image/') || contentType === 'application/octet-stream')) return 'binary';
  if (contentType === '') {
    throw new ProblemError('unsupported_media_type', 'the request has no Content-Type; send application/json' + (acceptsRaw ? ', multipart/form-data or an image/* body' : ''));
  }
  throw new ProblemError('unsupported_media_type', `Content-Type ${contentType} is not accepted here`);
}

/** Caps the request body at `MAX_REQUEST_BYTES` (413 `payload_too_large`), whatever its kind. */
export function requestBodyLimit(): MiddlewareHandler {
  return async function requestBodyLimitMiddleware(c, next) {
    const { config } = c.var.services();
    return bodyLimit({
      maxSize: config.maxRequestBytes,
      onError: () => {
        throw new ProblemError('payload_too_large', `the request body exceeds ${config.maxRequestBytes} bytes`);
      },
    })(c, next);
  };
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

/** Validates non-JSON inputs with the same schemas as JSON bodies, so errors read the same. */
export function parseFields<S extends z.ZodType>(schema: S, value: unknown, location: FieldError['in']): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationProblem(fieldErrorsFromZod(parsed.error, location));
  return parsed.data;
}

/** Accepts the `image` / `images` of a JSON body; `batched` says the answer is a list of lists. */
export async function jsonImages(svc: RequestServices, body: { image?: ImageInput | undefined; images?: ImageInput[] | undefined }): Promise<{ images: IntakeImage[]; batched: boolean }> {
  const budget = svc.imageBudget();
  if (body.images !== undefined) {
    return { images: await intakeImageInputs(body.images, svc.intake, budget, (i) => `images[${i}]`), batched: true };
  }
  if (body.image === undefined) throw new Error('bug: the request schema admits a body without images');
  return { images: await intakeImageInputs([body.image], svc.intake, budget, () => 'image'), batched: false };
}

/** Refuses multipart bodies without image parts or with too many. */
export function checkFileCount(count: number): void {
  if (count === 0) throw validationProblem([{ in: 'body', path: 'image', message: 'add at least one file part named "image"' }]);
  if (count > MAX_IMAGES_PER_REQUEST) {
    throw validationProblem([{ in: 'body', path: 'image', message: `at most ${MAX_IMAGES_PER_REQUEST} image parts` }]);
  }
}

/** Every problem status an image-taking inference route can answer with. */
export const inferenceProblemResponses = {
  ...imageProblemResponses,
  ...commonProblemResponses,
  ...backendProblemResponses,
} as const;

export const bearerSecurity = [{ bearerAuth: [] }];
