/**
 * What the inference routes answer, built once for both ways the server answers them: the Hono app
 * (`app.ts`) and the direct routes (`fast-path.ts`). Headers and body come out as plain values, so each
 * side only writes them.
 */
import {
  BINARY_HEADERS,
  LIMITS,
  TOP_K_PATTERN,
  encodeFloat32,
  type ClassifyAnswer,
  CLIENT_CLOSED_STATUS,
  DEADLINE_MS_PATTERN,
  EMBEDDINGS_BINARY_CONTENT_TYPE,
  HEADERS,
  encodeBinaryEmbeddings,
  float32JsonArrayMaxBytes,
  parseContentDigest,
  writeFloat32JsonArray,
} from '@coyo/backend-protocol';
import { Sha256Claim } from '../backend/sha256-claim.js';
import type { Answered, Classifications, ImageEmbeddings } from '../batching/engine.js';
import type { Logger } from '../metrics/logger.js';
import { ClientGone, HttpProblem, problemParts, toProblem } from './problem.js';

function formatMs(ms: number): string {
  return String(Math.round(ms * 10) / 10);
}

/**
 * The headers every inference answer carries: where its time went, and the revision of the weights that
 * made it, in the header as in the body, so callers can key caches by it.
 */
export function answeredHeaders(answered: Answered): Record<string, string> {
  return {
    [HEADERS.queueTime]: formatMs(answered.queueMs),
    [HEADERS.inferenceTime]: formatMs(answered.inferenceMs),
    [HEADERS.modelRevision]: answered.revision,
  };
}

/** The `x-deadline-ms` header as milliseconds, or a 400 problem when it is not a whole number. */
export function parseDeadlineMs(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (!DEADLINE_MS_PATTERN.test(value)) {
    throw new HttpProblem('invalid_request', `${HEADERS.deadlineMs} must be a whole number of milliseconds`);
  }
  return Number(value);
}

/** The `top_k` query parameter of `/v1/classify`, or a 400 problem when it is not a whole number ≥ 1. */
export function parseTopK(value: string | undefined): number {
  if (value === undefined) return LIMITS.defaultTopK;
  if (!TOP_K_PATTERN.test(value) || Number(value) < 1) throw new HttpProblem('invalid_request', 'top_k must be a whole number ≥ 1');
  return Number(value);
}

/**
 * The SHA-256 a raw image body's `content-digest` header claims; `undefined` when there is no header or
 * it names only other algorithms (the body is then not hashed at all); a 400 problem naming the header
 * when it is malformed. Multipart bodies do not ask: their header is ignored.
 */
export function claimedSha256(header: string | undefined): Sha256Claim | undefined {
  if (header === undefined) return undefined;
  const digest = parseContentDigest(header);
  switch (digest.kind) {
    case 'sha-256':
      return new Sha256Claim(digest.hex);
    case 'other':
      return undefined;
    case 'invalid':
      throw new HttpProblem('invalid_request', `${HEADERS.contentDigest} is not a valid digest field: ${digest.reason}`);
  }
}

/**
 * `parts` confirming, in `x-coyo-verified-sha256`, the digest the bytes behind them were found to have:
 * only a claim the backend has confirmed adds it.
 */
export function withVerifiedSha256(parts: AnswerParts, claim: Sha256Claim | undefined): AnswerParts {
  const verified = claim?.verified;
  if (verified !== undefined) parts.headers[HEADERS.verifiedSha256] = verified;
  return parts;
}

/** An answer's headers and body bytes (a view of a buffer the answer owns). */
export interface AnswerParts {
  headers: Record<string, string>;
  body: Uint8Array<ArrayBuffer>;
}

/**
 * An embed answer: JSON written as bytes (the `EmbedImageAnswer` / `EmbedTextAnswer` shape, the text
 * `JSON.stringify` would give, without building number arrays or a string first), or little-endian
 * float32 rows with the other fields in headers when `binary` (the caller's `Accept` asked for
 * `application/octet-stream`). `tokens` is the text route's tokens per text.
 */
export function embeddingsAnswer(answer: ImageEmbeddings, binary: boolean, tokens?: readonly number[]): AnswerParts {
  const headers = answeredHeaders(answer);
  headers.vary = 'accept';
  if (binary) {
    headers['content-type'] = EMBEDDINGS_BINARY_CONTENT_TYPE;
    headers[BINARY_HEADERS.model] = answer.model;
    headers[BINARY_HEADERS.dim] = String(answer.dim);
    headers[BINARY_HEADERS.count] = String(answer.embeddings.length);
    if (tokens !== undefined) headers[BINARY_HEADERS.tokens] = tokens.join(',');
    const bytes = encodeBinaryEmbeddings(answer.embeddings, answer.dim);
    return { headers, body: new Uint8Array(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength) };
  }
  headers['content-type'] = 'application/json';
  const head = `{"model":${JSON.stringify(answer.model)},"revision":${JSON.stringify(answer.revision)},"dim":${answer.dim},"embeddings":[`;
  const tail = tokens === undefined ? ']}' : `],"tokens":${JSON.stringify(tokens)}}`;
  // Bytes of the text around the vectors: at most 3 per UTF-16 unit.
  let room = 3 * (head.length + tail.length);
  for (const row of answer.embeddings) room += float32JsonArrayMaxBytes(row.length) + 1;
  // Not zeroed: every byte up to `at` is written below, and only those are sent. Not from Node's
  // shared pool either (`allocUnsafeSlow`), so the answer owns its buffer.
  const out = Buffer.allocUnsafeSlow(room);
  let at = out.write(head, 0, 'utf8');
  for (let i = 0; i < answer.embeddings.length; i++) {
    if (i > 0) out[at++] = 44; // ,
    at = writeFloat32JsonArray(answer.embeddings[i] as Float32Array, out, at);
  }
  at += out.write(tail, at, 'utf8');
  return { headers, body: new Uint8Array(out.buffer, out.byteOffset, at) };
}

/** A `/v1/classify` answer: the `ClassifyAnswer` JSON, scores as float32's shortest digits. */
export function classifyAnswer(answer: Classifications): AnswerParts {
  const headers = answeredHeaders(answer);
  headers['content-type'] = 'application/json';
  const json = JSON.stringify({
    model: answer.model,
    revision: answer.revision,
    predictions: answer.predictions.map((list) => list.map(({ label, score, index }) => ({ label, score: encodeFloat32(score), index }))),
  } satisfies ClassifyAnswer);
  const body = Buffer.from(json, 'utf8');
  return { headers, body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength) };
}

/** An error's answer: a problem document, or for a client that went away a bodiless 499 (nobody reads it). */
export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

/**
 * The answer to a request that threw `error`, logged as the app's one error path does: a client that
 * left (`aborted`: its connection closed) gets 499 without a body, since a connection dropped mid-upload
 * makes the body stream fail with a plain error that is the client's leaving, not a server fault;
 * anything unrecognised is an `internal` problem, logged with its cause.
 */
export function errorAnswer(error: unknown, requestId: string, aborted: boolean, logger: Logger): ErrorAnswer {
  const problem = toProblem(error);
  if (problem instanceof ClientGone || (problem.type === 'internal' && aborted)) {
    logger.info('client closed the request', { request_id: requestId });
    return { status: CLIENT_CLOSED_STATUS, headers: { [HEADERS.requestId]: requestId }, body: null };
  }
  if (problem.type === 'internal') logger.error('request failed', { request_id: requestId, error });
  return problemParts(problem, requestId);
}
