import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type Env } from './env';

const base = (overrides: Record<string, unknown>) => ({ ...env, BACKEND_URL: 'http://127.0.0.1:1', BACKEND_TOKEN: 't', ...overrides }) as Env;

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig(base({}));
    expect(config).toMatchObject({ maxImageBytes: 10 * 1024 * 1024, backendDeadlineMs: 30_000, backendMaxRetries: 2, breakerThreshold: 5 });
  });

  it('reads numbers given as strings or numbers', () => {
    expect(loadConfig(base({ MAX_IMAGE_BYTES: '2048', BACKEND_DEADLINE_MS: 1500 }))).toMatchObject({ maxImageBytes: 2048, backendDeadlineMs: 1500 });
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig(base({ BACKEND_DEADLINE_MS: 'soon' }))).toThrow(/BACKEND_DEADLINE_MS/);
    expect(() => loadConfig(base({ BACKEND_TOKEN: undefined }))).toThrow(ConfigError);
    expect(() => loadConfig(base({ BACKEND_URL: 'ftp://x' }))).toThrow(/BACKEND_URL/);
  });

  it('parses each env object once', () => {
    const e = base({});
    expect(loadConfig(e)).toBe(loadConfig(e));
  });
});
