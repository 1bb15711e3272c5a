import { PROBLEMS, type ProblemType } from '@coyo/backend-protocol';

/**
 * Problem `type`s an image payload can be refused with (see docs/backend-protocol.md): `digest_mismatch`
 * when its bytes do not have the SHA-256 its `content-digest` claimed.
 */
export type ImageInputErrorType = Extract<
  ProblemType,
  'invalid_image' | 'unsupported_media_type' | 'image_too_large' | 'payload_too_large' | 'digest_mismatch'
>;

export type ImageInputErrorStatus = (typeof PROBLEMS)[ImageInputErrorType]['status'];

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
    this.status = PROBLEMS[type].status;
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
