import { z } from '@hono/zod-openapi';

/** Most images one request may carry (`images: [...]` or repeated multipart parts). */
export const MAX_IMAGES_PER_REQUEST = 16;

/** An image by URL: http(s), fetched at the edge behind SSRF guards, or a `data:` URL. */
export const ImageUrlInputSchema = z
  .object({
    url: z
      .string()
      .min(1)
      .openapi({
        example: 'https://images.example.com/cat.jpg',
        description: 'An http(s) URL (ports 80, 443, 8080, 8443; no credentials; public hosts only) or a base64 data: URL.',
      }),
  })
  .strict()
  .openapi('ImageUrlInput');

/** An image inline: base64 (standard or URL-safe alphabet) or a `data:image/...;base64,` URL. */
export const ImageBase64InputSchema = z
  .object({
    base64: z.string().min(1).openapi({ example: 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==' }),
  })
  .strict()
  .openapi('ImageBase64Input');

/** One image in a JSON body. JPEG, PNG, GIF, WebP and AVIF are accepted, recognised by their bytes. */
export const ImageInputSchema = z.union([ImageUrlInputSchema, ImageBase64InputSchema]).openapi('ImageInput');
export type ImageInput = z.infer<typeof ImageInputSchema>;

/** `images: [...]` in a JSON body. */
export const ImageListSchema = z.array(ImageInputSchema).min(1).max(MAX_IMAGES_PER_REQUEST);

/** A raw image body, documented for `image/*` and `application/octet-stream` requests. */
export const binaryImageBody = { schema: { type: 'string' as const, format: 'binary' } };
