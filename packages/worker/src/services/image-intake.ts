/**
 * Turns whatever form an image arrives in (JSON url / base64 / data URL, a raw body, multipart parts)
 * into checked bytes: within the size caps, a format the backend decodes (recognised by magic bytes),
 * and keyed by the SHA-256 of the bytes, which is what the embedding cache is keyed by.
 */
import pMap from 'p-map';
import { ProblemError, validationProblem, type FieldError } from '../errors';
import { MAX_IMAGES_PER_REQUEST, type ImageInput } from '../schemas/image';
import { base64DecodedLength, base64MaxDecodedLength, base64ToBytes, sha256Hex } from './encoding';
import { imageDimensions, type ImageDimensions } from './image-dimensions';
import { MultipartError, multipartBoundary, parseMultipart, type FilePart, type FormEntry } from './multipart';
import type { RequestBodies } from './body-pool';
import { isClaimed, type ImageSource } from './claimed-image';
import { readCapped, readPooled } from './read-capped';
import { sniffImageType, type SupportedImageType } from './image-sniff';
import { fetchImageUrl } from './ssrf-guard';

/** An accepted image. */
export interface IntakeImage {
  bytes: Uint8Array<ArrayBuffer>;
  /** The format recognised from the bytes; sent to the backend as the Content-Type. */
  type: SupportedImageType;
  /** Lower-case hex SHA-256 of `bytes`: the content key. */
  sha256: string;
  /** Width and height as the header declares them; null when the header cannot be read. */
  dimensions: ImageDimensions | null;
}

/** The caps on what all images of one request may cost the backend to decode. */
export interface RequestImageLimits {
  maxImagesPerRequest: number;
  maxRequestPixels: number;
}

/** Refuses a request that carries more images than one request may (413, before any is fetched). */
export function checkImageCount(count: number, limits: RequestImageLimits): void {
  if (count > limits.maxImagesPerRequest) {
    throw new ProblemError('payload_too_large', `the request carries ${count} images; at most ${limits.maxImagesPerRequest} are accepted per request`);
  }
}

/**
 * Refuses a request whose images would decode to more pixels in total than one request may (413),
 * from the sizes their headers declare, before anything is decoded. An image whose header cannot be
 * read counts nothing here: the backend refuses it as invalid before decoding it; nor does an image
 * whose body is not read here (a claimed image, services/claimed-image.ts), which the backend holds to
 * its own pixel caps.
 */
export function checkRequestPixels(images: readonly ImageSource[], limits: RequestImageLimits): void {
  let total = 0;
  for (const image of images) {
    // A claimed image's body is unread: it is held to the budget when a cache hit reads it, and by the
    // backend's own check when it is streamed there (claimed-image.ts).
    if (isClaimed(image) || image.dimensions === null) continue;
    total += image.dimensions.width * image.dimensions.height;
  }
  if (total > limits.maxRequestPixels) {
    throw new ProblemError(
      'payload_too_large',
      `the images of this request declare ${total} pixels in total; at most ${limits.maxRequestPixels} are decoded per request`,
    );
  }
}

export interface IntakeOptions {
  /** Largest single image, in bytes (413 `image_too_large` beyond). */
  maxImageBytes: number;
  /** Fetch used for image URLs, behind the SSRF guard. */
  fetch: typeof fetch;
  /** Time budget per image URL, in ms. */
  fetchTimeoutMs: number;
}

/**
 * The byte budget of all images of one request, so sixteen large images cannot exhaust the
 * isolate's memory even when each one is within the per-image limit.
 */
export class ImageBudget {
  #left: number;

  constructor(readonly totalBytes: number) {
    this.#left = totalBytes;
  }

  get left(): number {
    return this.#left;
  }

  /** Charges `bytes` to the budget; throws 413 `payload_too_large` when it runs out. */
  take(bytes: number): void {
    if (bytes > this.#left) {
      throw new ProblemError('payload_too_large', `the images of this request exceed ${this.totalBytes} bytes in total`);
    }
    this.#left -= bytes;
  }
}

function fieldError(field: string | undefined, message: string): FieldError[] | undefined {
  return field === undefined ? undefined : [{ in: 'body', path: field, message }];
}

/** Checks size and format of raw bytes and computes their content key. */
export async function acceptImageBytes(bytes: Uint8Array<ArrayBuffer>, maxImageBytes: number, field?: string): Promise<IntakeImage> {
  if (bytes.byteLength === 0) {
    throw new ProblemError('validation_failed', `${field ?? 'image'}: the image is empty`, { errors: fieldError(field, 'the image is empty') });
  }
  if (bytes.byteLength > maxImageBytes) {
    throw new ProblemError('image_too_large', `${field ?? 'image'} is ${bytes.byteLength} bytes; the limit is ${maxImageBytes}`);
  }
  const sniffed = sniffImageType(bytes);
  if (!sniffed.supported) {
    throw new ProblemError('unsupported_media_type', `${field ?? 'image'}: ${sniffed.reason}`, { errors: fieldError(field, sniffed.reason) });
  }
  return { bytes, type: sniffed.type, sha256: await sha256Hex(bytes), dimensions: imageDimensions(bytes, sniffed.type) };
}

/** A parsed `data:` URL. */
interface DataUrl {
  mediaType: string;
  base64: boolean;
  data: string;
}

/** Whether the text starts (after leading whitespace) with `data:`, read from its head only. */
export function isDataUrl(text: string): boolean {
  return /^\s*data:/i.test(text.slice(0, 64));
}

/**
 * Parses `data:[<media type>][;base64],<data>`; returns null when the text is not a data URL. Only the
 * head is examined and the data is a slice of the text: an inline image is megabytes, and a regular
 * expression or a trim over all of it costs milliseconds of CPU.
 */
export function parseDataUrl(text: string): DataUrl | null {
  if (!isDataUrl(text)) return null;
  const start = text.indexOf(':') + 1;
  const comma = text.indexOf(',', start);
  if (comma < 0) return null;
  const meta = text.slice(start, comma).split(';').map((s) => s.trim());
  const base64 = meta.slice(1).some((p) => p.toLowerCase() === 'base64');
  // Trailing whitespace is the only kind a trim of the whole text removed; copy only when there is some.
  const data = /\s/.test(text.slice(-1)) ? text.slice(comma + 1).trimEnd() : text.slice(comma + 1);
  return { mediaType: (meta[0] ?? '').toLowerCase(), base64, data };
}

/** Decodes inline base64 (or a base64 data URL) after checking its decoded size without decoding. */
function decodeInline(text: string, maxImageBytes: number, field: string): Uint8Array<ArrayBuffer> {
  let payload = text;
  const dataUrl = parseDataUrl(text);
  if (dataUrl) {
    if (!dataUrl.base64) {
      throw new ProblemError('validation_failed', `${field}: data URLs must be base64-encoded`, {
        errors: fieldError(field, 'data URLs must be base64-encoded (data:image/png;base64,...)'),
      });
    }
    if (dataUrl.mediaType !== '' && !dataUrl.mediaType.startsWith('image/') && dataUrl.mediaType !== 'application/octet-stream') {
      throw new ProblemError('unsupported_media_type', `${field}: a data URL of ${dataUrl.mediaType} is not an image`);
    }
    payload = dataUrl.data;
  }
  // Counting the characters that carry data is a scan of the whole text: only near the limit.
  if (base64MaxDecodedLength(payload) > maxImageBytes) {
    const size = base64DecodedLength(payload);
    if (size > maxImageBytes) throw new ProblemError('image_too_large', `${field} is about ${size} bytes; the limit is ${maxImageBytes}`);
  }
  const bytes = base64ToBytes(payload);
  if (bytes === null) {
    throw new ProblemError('validation_failed', `${field}: not valid base64`, { errors: fieldError(field, 'not valid base64') });
  }
  return bytes;
}

/**
 * Accepts one JSON image (`{url}` or `{base64}`); `field` is its path in the body (`images[2]`),
 * named in every error about it.
 */
export async function intakeImageInput(input: ImageInput, options: IntakeOptions, budget: ImageBudget, field: string): Promise<IntakeImage> {
  const maxBytes = Math.min(options.maxImageBytes, budget.left);
  let bytes: Uint8Array<ArrayBuffer>;
  if ('base64' in input) {
    bytes = decodeInline(input.base64, options.maxImageBytes, `${field}.base64`);
  } else if (isDataUrl(input.url)) {
    bytes = decodeInline(input.url, options.maxImageBytes, `${field}.url`);
  } else {
    const fetched = await fetchImageUrl(input.url.trim(), {
      fetch: options.fetch,
      maxBytes: Math.max(maxBytes, 0),
      timeoutMs: options.fetchTimeoutMs,
      field: `${field}.url`,
    });
    bytes = fetched.bytes;
  }
  budget.take(bytes.byteLength);
  return acceptImageBytes(bytes, options.maxImageBytes, field);
}

/** How many image URLs one request fetches at once (bounds memory and subrequests in flight). */
const URL_FETCH_CONCURRENCY = 4;

/** Accepts a list of JSON images; errors name `images[i]` (or `image` for a single one). */
export function intakeImageInputs(
  inputs: readonly ImageInput[],
  options: IntakeOptions,
  budget: ImageBudget,
  fieldOf: (index: number) => string,
): Promise<IntakeImage[]> {
  return pMap(inputs, (input, i) => intakeImageInput(input, options, budget, fieldOf(i)), { concurrency: URL_FETCH_CONCURRENCY });
}

/** A multipart body split into its image files and its text fields. */
export interface MultipartParts {
  files: FilePart[];
  fields: Map<string, string[]>;
}

/**
 * Reads and parses a `multipart/form-data` body of at most `maxBytes` (services/multipart.ts: file parts
 * stay views into the one buffer the body is read into); parts named `image` (or `images`) that are
 * files are the images. With `bodies`, the body is read into a pooled buffer that they hold: the parts
 * must not be used after `bodies.release()`.
 */
export async function readMultipart(request: Request, maxBytes: number, bodies?: RequestBodies): Promise<MultipartParts> {
  const boundary = multipartBoundary(request.headers.get('content-type') ?? '');
  if (boundary === null) {
    await request.body?.cancel();
    throw new ProblemError('invalid_request', 'malformed multipart body: the Content-Type names no boundary');
  }
  let entries: FormEntry[];
  try {
    entries = parseMultipart(bodies === undefined ? await readCapped(request, maxBytes) : await readPooled(request, maxBytes, bodies), boundary);
  } catch (err) {
    if (!(err instanceof MultipartError)) throw err;
    throw new ProblemError('invalid_request', `malformed multipart body: ${err.message}`);
  }
  const files: FilePart[] = [];
  const fields = new Map<string, string[]>();
  for (const [name, value] of entries) {
    if (typeof value === 'string') {
      const list = fields.get(name) ?? [];
      list.push(value);
      fields.set(name, list);
    } else if (name === 'image' || name === 'images' || name === 'images[]') {
      files.push(value);
    } else {
      throw new ProblemError('validation_failed', `unexpected file part "${name}"; image files go in parts named "image"`, {
        errors: [{ in: 'body', path: name, message: 'unexpected file part; name image parts "image"' }],
      });
    }
  }
  return { files, fields };
}

/** Accepts multipart image files, each within the caps; errors name `image[i]`. */
export async function intakeFiles(files: readonly FilePart[], maxImageBytes: number, budget: ImageBudget): Promise<IntakeImage[]> {
  const out: IntakeImage[] = [];
  for (const [i, file] of files.entries()) {
    const field = files.length === 1 ? 'image' : `image[${i}]`;
    const size = file.bytes.byteLength;
    if (size > maxImageBytes) throw new ProblemError('image_too_large', `${field} is ${size} bytes; the limit is ${maxImageBytes}`);
    budget.take(size);
    out.push(await acceptImageBytes(file.bytes, maxImageBytes, field));
  }
  return out;
}

/**
 * Refuses text fields of a multipart body that the route does not read, so a misspelt field (or an
 * image sent as a text field instead of a file) is a 400 rather than silently dropped.
 */
export function checkMultipartFields(fields: ReadonlyMap<string, readonly string[]>, allowed: readonly string[]): void {
  const errors: FieldError[] = [];
  for (const name of fields.keys()) {
    if (allowed.includes(name)) continue;
    const imageName = name === 'image' || name === 'images' || name === 'images[]';
    errors.push({ in: 'body', path: name, message: imageName ? 'image parts must be files, not text fields' : `unknown field; the fields are ${allowed.join(', ')}` });
  }
  if (errors.length > 0) throw validationProblem(errors);
}

/**
 * Accepts the `image` parts of a multipart body under the same caps as a JSON `images` list: at most
 * {@link MAX_IMAGES_PER_REQUEST} parts (400), the configured count (413), then bytes per image and in
 * total. Errors name `image` / `image[i]`. An empty list is accepted: the route says whether it needs one.
 */
export function intakeImageParts(
  files: readonly FilePart[],
  limits: RequestImageLimits & { maxImageBytes: number },
  budget: ImageBudget,
): Promise<IntakeImage[]> {
  if (files.length > MAX_IMAGES_PER_REQUEST) {
    throw validationProblem([{ in: 'body', path: 'image', message: `at most ${MAX_IMAGES_PER_REQUEST} image parts` }]);
  }
  checkImageCount(files.length, limits);
  return intakeFiles(files, limits.maxImageBytes, budget);
}
