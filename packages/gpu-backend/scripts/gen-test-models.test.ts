import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveOutDir } from './gen-test-models.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('resolveOutDir', () => {
  it('prefers --out over MODELS_DIR', () => {
    expect(resolveOutDir(['--out', '/tmp/a'], { MODELS_DIR: '/tmp/b' })).toBe('/tmp/a');
  });

  it('uses MODELS_DIR when there is no flag', () => {
    expect(resolveOutDir([], { MODELS_DIR: '/tmp/b' })).toBe('/tmp/b');
  });

  it('defaults to <repo root>/models', () => {
    expect(resolveOutDir([], {})).toBe(resolve(REPO_ROOT, 'models'));
  });

  it('rejects an empty MODELS_DIR, naming the variable', () => {
    expect(() => resolveOutDir([], { MODELS_DIR: '' })).toThrow(/MODELS_DIR/);
  });

  it('rejects an unknown flag', () => {
    expect(() => resolveOutDir(['--output', '/tmp/a'], {})).toThrow();
  });
});
