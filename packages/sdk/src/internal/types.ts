import type { paths } from '../generated/schema.js';

type Method = 'get' | 'post';
type Op<P extends keyof paths, M extends Method> = paths[P] extends Record<M, infer O> ? O : never;

/** The JSON request body of an operation, from the generated OpenAPI types. */
export type JsonBody<P extends keyof paths, M extends Method> =
  Op<P, M> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;

/** The 200 JSON response of an operation, from the generated OpenAPI types. */
export type JsonOk<P extends keyof paths, M extends Method> =
  Op<P, M> extends { responses: { 200: { content: { 'application/json': infer R } } } } ? R : never;

/** The query parameters of an operation, from the generated OpenAPI types. */
export type Query<P extends keyof paths, M extends Method> =
  Op<P, M> extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

