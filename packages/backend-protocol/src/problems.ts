/**
 * The backend's errors: RFC 9457 problem details (`application/problem+json`). One table maps each
 * problem type to its status and title; the backend answers from it and callers branch on `type`.
 */
import { z } from 'zod';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const PROBLEMS = {
  invalid_request: { status: 400, title: 'Invalid request' },
  digest_mismatch: { status: 400, title: 'Content digest mismatch' },
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

export const PROBLEM_TYPES = Object.keys(PROBLEMS) as readonly ProblemType[];

/** Seconds the backend asks a refused caller to wait (`Retry-After` of its 503s). */
export const RETRY_AFTER_SECONDS = 1;

/** Status logged and counted for requests whose client went away (nobody receives it, so no body). */
export const CLIENT_CLOSED_STATUS = 499;

/**
 * A problem body. `type` is kept a string when parsing, so a caller survives a backend that has
 * learnt a new type; {@link isProblemType} narrows it.
 */
export const ProblemAnswerSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int().min(400).max(599),
  detail: z.string(),
  request_id: z.string(),
});

export type ProblemAnswer = z.infer<typeof ProblemAnswerSchema>;

/** Whether `type` is one this version of the protocol knows. */
export function isProblemType(type: string): type is ProblemType {
  return Object.hasOwn(PROBLEMS, type);
}

/** The body of a problem of `type`, with its status and title from {@link PROBLEMS}. */
export function problemAnswer(type: ProblemType, detail: string, requestId: string): ProblemAnswer & { type: ProblemType; status: ProblemStatus } {
  const { status, title } = PROBLEMS[type];
  return { type, title, status, detail, request_id: requestId };
}
