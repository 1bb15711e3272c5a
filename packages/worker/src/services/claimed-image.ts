/**
 * A raw image body whose SHA-256 the caller states in `Content-Digest` (RFC 9530). Its caches are
 * looked up by that claim before the body is read; what happens next keeps every answer tied to bytes
 * that provably have the digest it is keyed by:
 *
 * - a cache hit reads the body (as a body without the claim is read), computes its SHA-256 and is
 *   answered only when it equals the claim ({@link ClaimedImage.verify}); else 400 `digest_mismatch`;
 * - a miss sends the request's body stream to the backend untouched ({@link ClaimedImage.takeStream}),
 *   with the claim in `content-digest`: the backend computes the digest of what it received before
 *   using it, refuses a mismatch (`digest_mismatch`) and confirms a match with
 *   `x-coyo-verified-sha256`. Only an answer carrying that confirmation, equal to the claim, is cached.
 *
 * A stream can be sent once: the body is either read here or sent, never both, and a second send (a
 * re-run after the backend changed models) is refused as retryable instead.
 */
import { parseContentDigest } from '@coyo/backend-protocol';
import { ProblemError } from '../errors';
import type { IntakeImage } from './image-intake';

/**
 * The detail of every `digest_mismatch`, the edge's (a cache hit) and the backend's (a miss) alike: the
 * answer must not tell a client whether the claimed digest was cached.
 */
export const DIGEST_MISMATCH_DETAIL = "the image body's SHA-256 differs from the one its Content-Digest states";

/** Reads the body the way a body without a claim is read and checked (size, format, declared pixels). */
export type ReadImage = () => Promise<IntakeImage>;

/** An accepted image, or one known by its claimed digest only. */
export type ImageSource = IntakeImage | ClaimedImage;

/** The content type sent to the backend with a streamed body: the caller's media type when it names an image. */
function backendContentType(contentType: string | null): string {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return media.startsWith('image/') ? media : 'application/octet-stream';
}

export class ClaimedImage {
  /** The claimed SHA-256, lower-case hex: the content key the caches are looked up by. */
  readonly sha256: string;
  /** The declared Content-Length. */
  readonly length: number;
  /** Content-Type for the backend subrequest. */
  readonly contentType: string;
  readonly #body: ReadableStream<Uint8Array>;
  readonly #read: ReadImage;
  #state: 'unread' | 'reading' | 'read' | 'sent' = 'unread';
  #image: IntakeImage | undefined;

  constructor(options: { sha256: string; length: number; contentType: string | null; body: ReadableStream<Uint8Array>; read: ReadImage }) {
    this.sha256 = options.sha256;
    this.length = options.length;
    this.contentType = backendContentType(options.contentType);
    this.#body = options.body;
    this.#read = options.read;
  }

  /** The verified image once {@link verify} succeeded; undefined before, or once the body was sent. */
  get image(): IntakeImage | undefined {
    return this.#image;
  }

  /** Whether the body went to the backend unread. */
  get sent(): boolean {
    return this.#state === 'sent';
  }

  /**
   * Reads the body, checks it as any raw image body is checked, and returns it only when its SHA-256
   * equals the claim; 400 `digest_mismatch` otherwise. Called where a cached answer would be given.
   */
  async verify(): Promise<IntakeImage> {
    if (this.#image !== undefined) return this.#image;
    if (this.#state === 'sent') throw resendProblem();
    if (this.#state !== 'unread') throw new Error('bug: a claimed image verified twice at once');
    this.#state = 'reading';
    const image = await this.#read();
    if (image.sha256 !== this.sha256) {
      throw new ProblemError('digest_mismatch', DIGEST_MISMATCH_DETAIL);
    }
    this.#state = 'read';
    this.#image = image;
    return image;
  }

  /**
   * The untouched body stream, for the one backend call that carries it; a second call (a re-run with
   * fresh model info) cannot send it again and is refused as retryable (503 with Retry-After).
   */
  takeStream(): ReadableStream<Uint8Array> {
    if (this.#state === 'sent') throw resendProblem();
    if (this.#state !== 'unread') throw new Error(`bug: the body of a claimed image is ${this.#state}, not unread, when it is sent`);
    this.#state = 'sent';
    return this.#body;
  }
}

function resendProblem(): ProblemError {
  return new ProblemError(
    'backend_unavailable',
    'the inference backend changed models while the image went to it, and a body sent once cannot be sent again; retry the request',
    { headers: { 'retry-after': '1' } },
  );
}

/** Whether an image source is known by its claimed digest. */
export function isClaimed(image: ImageSource): image is ClaimedImage {
  return image instanceof ClaimedImage;
}

/**
 * The claimed image of a raw image request, or null when the request takes the usual path: no
 * `Content-Digest`, one without a `sha-256` member (ignored, as RFC 9530 allows), no declared
 * Content-Length (a chunked body), an empty body, or a Content-Encoding. A malformed field is 400
 * `invalid_request`; a declared length over `maxImageBytes` is 413 `image_too_large`, as without a claim.
 */
export async function claimedImageOf(request: Request, maxImageBytes: number, read: ReadImage): Promise<ClaimedImage | null> {
  const field = request.headers.get('content-digest');
  if (field === null) return null;
  const digest = parseContentDigest(field);
  if (digest.kind === 'invalid') throw new ProblemError('invalid_request', `Content-Digest: ${digest.reason}`);
  if (digest.kind === 'other') return null;
  const declared = request.headers.get('content-length')?.trim();
  const { headers } = request;
  if (declared === undefined || !/^\d{1,15}$/.test(declared) || headers.has('content-encoding') || headers.has('transfer-encoding')) return null;
  const length = Number(declared);
  if (length > maxImageBytes) {
    await request.body?.cancel();
    throw new ProblemError('image_too_large', `the image is ${length} bytes; the limit is ${maxImageBytes}`);
  }
  // A request body is bytes; the Workers types leave its chunk type open.
  const body = request.body as ReadableStream<Uint8Array> | null;
  if (length === 0 || body === null) return null;
  return new ClaimedImage({ sha256: digest.hex, length, contentType: request.headers.get('content-type'), body, read });
}

/**
 * The images with every claimed one whose entry was found replaced by its verified bytes: a cached
 * answer is given for a claim only once the body proved it (400 `digest_mismatch` otherwise).
 */
export async function verifyFound(images: readonly ImageSource[], found: readonly unknown[]): Promise<ImageSource[]> {
  return Promise.all(images.map(async (img, i) => (isClaimed(img) && found[i] !== undefined ? img.verify() : img)));
}

/**
 * The claimed image whose unread body is to be sent, when the images to send hold one: it must be
 * the only one (a claim comes with a lone raw body). A claimed image read earlier is sent as its bytes.
 */
export function streamedOf(images: readonly ImageSource[]): ClaimedImage | null {
  const claimed = images.filter((img): img is ClaimedImage => isClaimed(img) && img.image === undefined);
  if (claimed.length === 0) return null;
  if (images.length !== 1) throw new Error('bug: a claimed image is sent with other images');
  return claimed[0] ?? null;
}

/** The bytes of an image to send: a claimed image's once verified. */
export function bytesOf(image: ImageSource): IntakeImage {
  if (!isClaimed(image)) return image;
  if (image.image === undefined) throw new Error('bug: a claimed image sent as bytes before it was read');
  return image.image;
}
