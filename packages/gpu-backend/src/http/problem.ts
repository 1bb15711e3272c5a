/**
 * RFC 9457 problem details: the protocol's table (`PROBLEMS` of `@coyo/backend-protocol`) maps each
 * error type to its HTTP status and title, and {@link toProblem} maps every error the server can meet
 * onto that table, so no handler picks statuses.
 */
import {
  HEADERS,
  PROBLEM_CONTENT_TYPE,
  RETRY_AFTER_SECONDS,
  problemAnswer,
  type ProblemType,
} from '@coyo/backend-protocol';
import { QueueRejection } from '../batching/errors.js';
import { ImageInputError } from '../models/errors.js';

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

/** A problem answer's status, headers and body text, for any server that writes it. */
export interface ProblemParts {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The problem+json answer of `problem`; `Retry-After` goes with the 503s, `WWW-Authenticate` with 401. */
export function problemParts(problem: Problem, requestId: string): ProblemParts {
  const body = problemAnswer(problem.type, problem.detail, requestId);
  const { status } = body;
  const headers: Record<string, string> = {
    'content-type': PROBLEM_CONTENT_TYPE,
    [HEADERS.requestId]: requestId,
  };
  if (status === 503) headers[HEADERS.retryAfter] = String(RETRY_AFTER_SECONDS);
  if (problem.type === 'unauthorized') headers['www-authenticate'] = 'Bearer';
  return { status, headers, body: JSON.stringify(body) };
}

/** Builds the problem+json response ({@link problemParts}). */
export function problemResponse(problem: Problem, requestId: string): Response {
  const { status, headers, body } = problemParts(problem, requestId);
  return new Response(body, { status, headers });
}
