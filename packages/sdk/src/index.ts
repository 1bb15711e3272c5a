import { Coyo } from './client.js';

export { Coyo };
export { CoyoResource, EmbeddingsResource, ModelsResource } from './client.js';
export type {
  ClientOptions,
  RequestOptions,
  WithRequestId,
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
  CoyoColumn,
  CoyoLookup,
  CoyoBatch,
  CoyoRowsPage,
  CoyoRowsItem,
  CoyoRowsParams,
  CoyoFilterParams,
  CoyoFilterPage,
  CoyoStats,
} from './client.js';
export { APIPromise, PagePromise } from './internal/api-promise.js';
export {
  CoyoError,
  CoyoInputError,
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
  InvalidResponseError,
  APIConnectionError,
  APIConnectionTimeoutError,
  APIUserAbortError,
  type Problem,
} from './errors.js';
export { decodeBase64Embedding, type ImageInput } from './internal/image.js';
export { VERSION } from './version.js';
export type { paths, components } from './generated/schema.js';
export default Coyo;
