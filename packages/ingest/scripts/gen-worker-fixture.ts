/**
 * Writes packages/worker/test/fixtures/coyo-bucket.json, coyo-nulls-bucket.json and
 * coyo-null-id-bucket.json (see worker-fixture.ts).
 *
 *   pnpm --filter @coyo/ingest gen:fixture
 */
import { writeFile } from 'node:fs/promises';
import { WORKER_FIXTURES } from './worker-fixture.js';

for (const { path, build } of WORKER_FIXTURES) {
  const { text, rowGroups } = await build();
  await writeFile(path, text);
  console.error(`wrote ${path} (${(text.length / 1024).toFixed(0)} KB, row groups per shard: ${rowGroups.join(', ')})`);
}
