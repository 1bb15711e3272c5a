import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import openapiTS, { astToString } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';

const here = import.meta.dirname;

describe('generated types', () => {
  it('match the worker OpenAPI document (run `pnpm gen:sdk` after changing the API)', async () => {
    const spec = new URL(`file://${resolve(here, '../../worker/openapi.json')}`);
    const fresh = astToString(await openapiTS(spec));
    // The CLI adds a do-not-edit banner above what the library returns.
    const committed = readFileSync(resolve(here, 'generated/schema.ts'), 'utf8').replace(/^\/\*\*[\s\S]*?\*\/\s*/, '');
    expect(committed.trim()).toBe(fresh.trim());
  });
});
