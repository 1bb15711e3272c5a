import type { LimitsConfig } from '../src/config.js';

/**
 * The request limits the HTTP tests run the app and server under: small enough that a test reaches each
 * cap with a few bytes (an image of 1,000 bytes, 4 images, 3 texts, a body of 5,000 bytes).
 */
export const TEST_LIMITS: LimitsConfig = {
  maxImageBytes: 1000,
  maxImagePixels: 1_000_000,
  maxImagesPerRequest: 4,
  maxRequestPixels: 1_000_000,
  maxTextsPerRequest: 3,
  maxRequestBytes: 5000,
};
