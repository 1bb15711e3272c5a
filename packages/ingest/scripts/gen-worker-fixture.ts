/**
 * Writes packages/worker/test/fixtures/coyo-bucket.json, coyo-nulls-bucket.json and
 * coyo-null-id-bucket.json (see worker-fixture.ts).
 *
 *   pnpm --filter @coyo/ingest gen:fixture
 */
import { writeFile } from 'node:fs/promises';
import {
  FIXTURE_PATH,
  NULL_ID_FIXTURE_PATH,
  NULLS_FIXTURE_PATH,
  workerFixture,
  workerNullIdFixture,
  workerNullsFixture,
} from './worker-fixture.js';

for (const [path, build] of [
  [FIXTURE_PATH, workerFixture],
  [NULLS_FIXTURE_PATH, workerNullsFixture],
  [NULL_ID_FIXTURE_PATH, workerNullIdFixture],
] as const) {
  const { text, rowGroups } = await build();
  await writeFile(path, text);
  console.error(`wrote ${path} (${(text.length / 1024).toFixed(0)} KB, row groups per shard: ${rowGroups.join(', ')})`);
}
