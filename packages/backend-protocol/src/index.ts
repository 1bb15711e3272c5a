/**
 * `@coyo/backend-protocol`: the worker ↔ GPU backend wire format, declared once (docs/backend-protocol.md
 * explains it). The backend builds its answers from these types and tables; the worker's client and its
 * fake backend parse and build with the same schemas, so a change to the protocol is one edit here that
 * both sides' type checks and the contract test follow.
 */
export { DEADLINE_MS_PATTERN, HEADERS, IMAGE_PART_NAME, LIMITS, REVISION_HEX_DIGITS, REVISION_PATTERN, ROUTES, TOP_K_PATTERN, revisionOfDigest } from './wire.js';
export type { RouteName, RoutePath } from './wire.js';
export { SHA256_HEX_PATTERN, formatContentDigest, parseContentDigest } from './digest.js';
export type { ContentDigest } from './digest.js';
export {
  BatchingSchema,
  ClassifyAnswerSchema,
  EmbedImageAnswerSchema,
  EmbedTextAnswerSchema,
  EmbedTextRequestSchema,
  EmbeddingsSchema,
  HealthAnswerSchema,
  MODEL_TASKS,
  ModelRevisionSchema,
  ModelSchema,
  ModelsAnswerSchema,
  PHASES,
  PhashAnswerSchema,
  PredictionSchema,
  ReadyAnswerSchema,
} from './messages.js';
export type {
  ClassifyAnswer,
  EmbedImageAnswer,
  EmbedTextAnswer,
  EmbedTextRequest,
  HealthAnswer,
  PhashAnswer,
  Model,
  ModelsAnswer,
  Phase,
  Prediction,
  ReadyAnswer,
} from './messages.js';
export {
  CLIENT_CLOSED_STATUS,
  PROBLEMS,
  PROBLEM_CONTENT_TYPE,
  PROBLEM_TYPES,
  ProblemAnswerSchema,
  RETRY_AFTER_SECONDS,
  isProblemType,
  problemAnswer,
} from './problems.js';
export type { ProblemAnswer, ProblemStatus, ProblemType } from './problems.js';
export {
  FLOAT32_JSON_MAX_BYTES,
  decodeVectors,
  encodeFloat32,
  encodeVector,
  float32JsonArray,
  float32JsonArrayMaxBytes,
  float32JsonNumber,
  writeFloat32Json,
  writeFloat32JsonArray,
} from './vectors.js';
export {
  BINARY_HEADERS,
  EMBEDDINGS_BINARY_CONTENT_TYPE,
  acceptsBinaryEmbeddings,
  decodeBinaryEmbeddings,
  encodeBinaryEmbeddings,
} from './binary.js';
export type { BinaryEmbeddings } from './binary.js';
