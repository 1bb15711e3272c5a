/**
 * The COYO routes alone on a fresh app, over the reader's fixture in the test R2 bucket: what the
 * route tests of `src/routes/coyo/` share.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { env } from 'cloudflare:workers';
import { CoyoMemory } from '@coyo/coyo-reader';
import { fixtureRows, seedFixture, type CompleteRecord } from '@coyo/coyo-reader/testing';
import type { AppEnv, Env } from '../src/env';
import { handleError, validationHook } from '../src/errors';
import { registerCoyoRoutes } from '../src/routes/coyo/index';

export const testEnv: Env = env;

/** Seeds the fixture's published versions into the test bucket and returns its rows. */
export async function seedCoyoFixture(): Promise<CompleteRecord[]> {
  await seedFixture(testEnv.COYO_BUCKET);
  return fixtureRows();
}

/** An app with only the COYO routes, a memory of its own and no edge cache unless `options` say so. */
export function coyoApp(options: Parameters<typeof registerCoyoRoutes>[1] = {}): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.onError(handleError);
  registerCoyoRoutes(app, { memory: new CoyoMemory(), edgeCache: null, ...options });
  return app;
}
