/**
 * Writes packages/worker/openapi.json from the app's route definitions (the SDK is generated from
 * it). Deterministic: the same routes give the same bytes; `src/openapi.test.ts` fails when the
 * committed file drifts. Run: `pnpm --filter @coyo/worker gen:openapi`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApp } from '../src/app';
import { openApiDocument, serializeOpenApi } from '../src/openapi';

const target = join(dirname(fileURLToPath(import.meta.url)), '../openapi.json');
const next = serializeOpenApi(openApiDocument(createApp()));
let previous = '';
try {
  previous = readFileSync(target, 'utf8');
} catch {
  previous = '';
}
if (previous === next) {
  console.log(`openapi.json is up to date (${next.length} bytes)`);
} else {
  writeFileSync(target, next);
  console.log(`wrote openapi.json (${next.length} bytes)`);
}
