import { describe, expect, it } from 'vitest';
import committed from '../openapi.json';
import { createApp } from './app';
import { openApiDocument, serializeOpenApi } from './openapi';

const doc = openApiDocument(createApp());

type Responses = NonNullable<NonNullable<NonNullable<NonNullable<typeof doc.paths>[string]>['post']>['responses']>;

/** The problem+json content of one declared response, if any. */
function problemContent(responses: Responses, status: string): unknown {
  const response: unknown = responses[status];
  if (typeof response !== 'object' || response === null || !('content' in response)) return undefined;
  const content: unknown = response.content;
  return typeof content === 'object' && content !== null && 'application/problem+json' in content ? content['application/problem+json'] : undefined;
}

describe('OpenAPI document', () => {
  it('matches the committed openapi.json (run `pnpm --filter @coyo/worker gen:openapi` after changing routes)', () => {
    expect(JSON.parse(serializeOpenApi(doc))).toEqual(committed);
  });

  it('is OpenAPI 3.1 with a bearer security scheme required by default', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components?.securitySchemes?.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths?.['/healthz']?.get?.security).toEqual([]);
  });

  it('declares error responses as problem+json on every inference route', () => {
    for (const path of ['/v1/zero-shot', '/v1/classify', '/v1/embeddings', '/v1/similarity']) {
      const responses = doc.paths?.[path]?.post?.responses ?? {};
      for (const status of ['400', '401', '403', '413', '415', '422', '429', '500', '502', '503', '504']) {
        expect(problemContent(responses, status), `${path} ${status}`).toBeDefined();
      }
    }
  });

  it('declares every problem status of the COYO batch route, body size and media type included', () => {
    const responses = doc.paths?.['/v1/coyo/batch']?.post?.responses ?? {};
    for (const status of ['400', '401', '403', '413', '415', '429', '500', '503']) {
      expect(problemContent(responses, status), `/v1/coyo/batch ${status}`).toBeDefined();
    }
  });

  it('documents the three body kinds of zero-shot and classify and marks their bodies required', () => {
    for (const path of ['/v1/zero-shot', '/v1/classify']) {
      const body = doc.paths?.[path]?.post?.requestBody;
      expect(body && 'content' in body ? Object.keys(body.content) : [], path).toEqual(['application/json', 'multipart/form-data', 'image/*', 'application/octet-stream']);
      expect(body && 'required' in body ? body.required : undefined, path).toBe(true);
    }
  });

  it('is byte-for-byte deterministic', () => {
    expect(serializeOpenApi(openApiDocument(createApp()))).toBe(serializeOpenApi(doc));
  });
});
