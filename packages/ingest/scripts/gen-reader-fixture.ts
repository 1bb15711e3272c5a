/**
 * Writes the reader's fixtures, coyo-bucket.json, coyo-nulls-bucket.json and coyo-null-id-bucket.json,
 * into `fixtures/` of `@coyo/coyo-reader` (see reader-fixture.ts).
 *
 *   pnpm --filter @coyo/ingest gen:fixture
 */
import { writeFile } from 'node:fs/promises';
import { READER_FIXTURES } from './reader-fixture.js';

for (const { path, build } of READER_FIXTURES) {
  const { text, rowGroups } = await build();
  await writeFile(path, text);
  console.error(`wrote ${path} (${(text.length / 1024).toFixed(0)} KB, row groups per shard: ${rowGroups.join(', ')})`);
}
