/**
 * The OpenAPI 3.1 document of the public API, produced in-process from the route definitions (the
 * `/openapi.json` route and `scripts/gen-openapi.ts` both call this, so they cannot disagree).
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './env';

export type OpenApiDocument = ReturnType<OpenAPIHono<AppEnv>['getOpenAPI31Document']>;

export const API_VERSION = '1.0.0';

/** Registers the bearer scheme once per app; routes opt in with `security: [{ bearerAuth: [] }]`. */
export function registerSecurityScheme(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'coyo_ followed by 32 base62 characters',
    description: 'An API key: `Authorization: Bearer coyo_…`. Keys carry scopes: `inference`, `coyo`, `admin` (all).',
  });
}

/** Builds the document; deterministic for a given set of routes. */
export function openApiDocument(app: OpenAPIHono<AppEnv>): OpenApiDocument {
  return app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'coyo-edge API',
      version: API_VERSION,
      description:
        'Zero-shot image classification and embeddings (ALIGN, kakaobrain/align-base), ImageNet classification ' +
        '(kakaobrain/vit-large-patch16-384) and COYO-700M metadata, served at the edge. Errors are RFC 9457 ' +
        '`application/problem+json` with a stable `type` and the `request_id` echoed in `x-request-id`.',
      contact: { name: 'coyo-edge', url: 'https://github.com/coyo-edge/coyo-edge/issues' },
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    servers: [{ url: 'https://api.coyo-edge.dev', description: 'Production' }],
    security: [{ bearerAuth: [] }],
    tags: [
      { name: 'inference', description: 'ALIGN and ViT inference' },
      { name: 'models', description: 'What the backend serves' },
      { name: 'coyo', description: 'COYO-700M metadata' },
      { name: 'meta', description: 'Health and the spec' },
    ],
  });
}

/** The committed form of the document: stable key order as built, two-space indent, final newline. */
export function serializeOpenApi(doc: OpenApiDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
