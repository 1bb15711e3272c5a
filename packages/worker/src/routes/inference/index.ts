import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../../env';
import { registerClassify } from './classify';
import { registerEmbeddings } from './embeddings';
import { registerSimilarity } from './similarity';
import { registerZeroShot } from './zero-shot';

/** Registers the inference routes: zero-shot, classify, embeddings, similarity. */
export function registerInferenceRoutes(app: OpenAPIHono<AppEnv>): void {
  registerZeroShot(app);
  registerClassify(app);
  registerEmbeddings(app);
  registerSimilarity(app);
}
