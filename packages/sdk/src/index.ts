import { Coyo } from './client.js';

export { Coyo };
export { CoyoDataset, EmbeddingsResource, ModelsResource } from './client.js';
export type {
  ClientOptions,
  RequestOptions,
  LabelScore,
  ZeroShotParams,
  ZeroShotBatchParams,
  ClassifyParams,
  ClassifyBatchParams,
  EmbeddingsParams,
  SimilarityParams,
  Embeddings,
  Similarity,
  ModelList,
  CoyoRow,
  CoyoRows,
  CoyoFilterParams,
  CoyoFilterPage,
  CoyoStats,
} from './client.js';
export {
  CoyoError,
  APIError,
  BadRequestError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  UnprocessableEntityError,
  RateLimitError,
  InternalServerError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  type Problem,
} from './errors.js';
export { decodeBase64Embedding, type ImageInput } from './internal/image.js';
export type { paths, components } from './generated/schema.js';
export default Coyo;
