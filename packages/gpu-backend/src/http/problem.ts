/**
 * RFC 9457 problem details: one table maps each error type to its HTTP status and title, and
 * {@link toProblem} maps every error the server can meet onto that table, so no handler picks statuses.
 */
import { QueueRejection } from '../batching/errors.js';
import { ImageInputError } from '../models/errors.js';

export const PROBLEMS = {
  invalid_request: { status: 400, title: 'Invalid request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  not_found: { status: 404, title: 'Not found' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  image_too_large: { status: 413, title: 'Image too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  invalid_image: { status: 422, title: 'Invalid image' },
  internal: { status: 500, title: 'Internal error' },
  overloaded: { status: 503, title: 'Overloaded' },
  not_ready: { status: 503, title: 'Not ready' },
  deadline_exceeded: { status: 504, title: 'Deadline exceeded' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemType = keyof typeof PROBLEMS;
export type ProblemStatus = (typeof PROBLEMS)[ProblemType]['status'];

/** Seconds a client should wait before retrying a refused request. */
export const RETRY_AFTER_SECONDS = 1;

/** An error the HTTP layer answers as a problem of `type`. */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly type: ProblemType,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** Raised when the client went away; nobody reads the answer, so it is not a problem document. */
export class ClientGone extends Error {
  override name = 'ClientGone';
}

export interface Problem {
  type: ProblemType;
  detail: string;
}

/**
 * Maps any thrown value to a problem. Client-caused errors keep their message as `detail`; anything
 * unrecognised is `internal` with a generic detail (the cause is logged, not sent).
 */
export function toProblem(error: unknown): Problem | ClientGone {
  if (error instanceof HttpProblem) return { type: error.type, detail: error.detail };
  if (error instanceof ImageInputError) return { type: error.type, detail: error.message };
  if (error instanceof QueueRejection) {
    switch (error.reason) {
      case 'client_gone':
        return new ClientGone(error.message);
      case 'overloaded':
      case 'deadline_exceeded':
      case 'not_ready':
        return { type: error.reason, detail: error.message };
    }
  }
  return { type: 'internal', detail: 'the server failed to answer this request' };
}

/** Builds the problem+json response; `Retry-After` goes with the 503s. */
export function problemResponse(problem: Problem, requestId: string, headers: Record<string, string> = {}): Response {
  const { status, title } = PROBLEMS[problem.type];
  const body = { type: problem.type, title, status, detail: problem.detail, request_id: requestId };
  const extra: Record<string, string> = {
    ...headers,
    'content-type': 'application/problem+json',
    'x-request-id': requestId,
  };
  if (status === 503) extra['retry-after'] = String(RETRY_AFTER_SECONDS);
  if (problem.type === 'unauthorized') extra['www-authenticate'] = 'Bearer';
  return new Response(JSON.stringify(body), { status, headers: extra });
}
