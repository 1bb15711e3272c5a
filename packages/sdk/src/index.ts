import { Coyo } from './client.js';

export { Coyo };
export { CoyoResource } from './resources/coyo.js';
export { EmbeddingsResource, ModelsResource } from './resources/inference.js';
export type {
  ClientOptions,
  RequestOptions,
  PreparedRequest,
  WithRequestId,
  LabelScore,
  ZeroShotParams,
  ZeroShotBatchParams,
  ClassifyParams,
  ClassifyBatchParams,
  SimilarityParams,
  Similarity,
} from './client.js';
export type { EmbeddingsParams, Embeddings, ModelList } from './resources/inference.js';
export type {
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
  CoyoExportFormat,
  CoyoExportParams,
  CoyoExportPart,
  CoyoExportRows,
  CoyoByUrl,
  CoyoByDomainParams,
  CoyoByDomainPage,
  CoyoByPhashParams,
  CoyoByPhash,
  CoyoPhashMatch,
  CoyoLookupImageParams,
} from './resources/coyo.js';
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
