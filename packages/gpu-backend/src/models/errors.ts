/** Problem `type`s an image payload can be refused with (see docs/backend-protocol.md). */
export type ImageInputErrorType =
  | 'invalid_image'
  | 'unsupported_media_type'
  | 'image_too_large'
  | 'payload_too_large';

/** HTTP status for each image error type: one table, so callers never guess. */
export const IMAGE_ERROR_STATUS = {
  invalid_image: 422,
  unsupported_media_type: 415,
  image_too_large: 413,
  payload_too_large: 413,
} as const satisfies Record<ImageInputErrorType, number>;

export type ImageInputErrorStatus = (typeof IMAGE_ERROR_STATUS)[ImageInputErrorType];

/**
 * A client-caused image failure. The HTTP layer maps it straight to problem+json
 * (`type`, `status`, `detail` = `message`); anything else thrown while decoding is a server fault.
 */
export class ImageInputError extends Error {
  readonly type: ImageInputErrorType;
  readonly status: ImageInputErrorStatus;

  constructor(type: ImageInputErrorType, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageInputError';
    this.type = type;
    this.status = IMAGE_ERROR_STATUS[type];
  }
}

/**
 * A model folder whose files are missing or malformed. Raised at start-up, so the message names
 * the file and the field to fix.
 */
export class ModelConfigError extends Error {
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'ModelConfigError';
    this.file = file;
  }
}
