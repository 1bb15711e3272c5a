import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FIXTURE_PATH, workerFixture } from './worker-fixture.js';

describe('the worker fixture', () => {
  it('matches what gen:fixture writes (run `pnpm --filter @coyo/ingest gen:fixture` after changing the generator)', async () => {
    const { text } = await workerFixture();
    expect(await readFile(FIXTURE_PATH, 'utf8')).toBe(text);
  });

  it('stays under 300 KB', async () => {
    expect((await readFile(FIXTURE_PATH)).byteLength).toBeLessThan(300 * 1024);
  });
});
