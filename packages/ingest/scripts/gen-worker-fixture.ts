/**
 * Writes packages/worker/test/fixtures/coyo-bucket.json (see worker-fixture.ts).
 *
 *   pnpm --filter @coyo/ingest gen:fixture
 */
import { writeFile } from 'node:fs/promises';
import { FIXTURE_PATH, workerFixture } from './worker-fixture.js';

const { text, rowGroups } = await workerFixture();
await writeFile(FIXTURE_PATH, text);
console.error(`wrote ${FIXTURE_PATH} (${(text.length / 1024).toFixed(0)} KB, row groups per shard: ${rowGroups.join(', ')})`);
