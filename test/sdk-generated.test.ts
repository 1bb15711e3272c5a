/**
 * The SDK's types are generated from the worker's OpenAPI document (`pnpm gen:sdk`, run from the
 * repository root): this fails when the committed types drift from the committed document.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';

const REPO_ROOT = resolve(import.meta.dirname, '..');

describe('generated SDK types', () => {
  it('match the worker OpenAPI document (run `pnpm gen:sdk` after changing the API)', async () => {
    const spec = pathToFileURL(join(REPO_ROOT, 'packages', 'worker', 'openapi.json'));
    const fresh = astToString(await openapiTS(spec));
    // The CLI adds a do-not-edit banner above what the library returns.
    const committed = readFileSync(join(REPO_ROOT, 'packages', 'sdk', 'src', 'generated', 'schema.ts'), 'utf8').replace(/^\/\*\*[\s\S]*?\*\/\s*/, '');
    expect(committed.trim()).toBe(fresh.trim());
  });
});
