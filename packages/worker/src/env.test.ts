import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadEdgeConfig, type Env } from './env';

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
    expect(() => loadConfig(base({ BACKEND_BREAKER_COOLDOWN_MS: '10000' }))).toThrow(/BACKEND_BREAKER_COOLDOWN_MS.*BACKEND_BREAKER_PROBE_MAX_MS/);
  });

  it('caps images per request at the schemas’ 16 and pixels per request at 100 Mpx by default', () => {
    expect(loadConfig(base({}))).toMatchObject({ maxImagesPerRequest: 16, maxRequestPixels: 100_000_000, breakerProbeMaxMs: 500 });
    expect(loadConfig(base({ MAX_IMAGES_PER_REQUEST: '4', MAX_REQUEST_PIXELS: '5e6' }))).toMatchObject({ maxImagesPerRequest: 4, maxRequestPixels: 5_000_000 });
    expect(() => loadConfig(base({ MAX_IMAGES_PER_REQUEST: '17' }))).toThrow(/MAX_IMAGES_PER_REQUEST/);
    expect(() => loadConfig(base({ MAX_REQUEST_PIXELS: '0' }))).toThrow(/MAX_REQUEST_PIXELS/);
  });

  it('parses each env object once', () => {
    const e = base({});
    expect(loadConfig(e)).toBe(loadConfig(e));
  });
});

describe('loadEdgeConfig', () => {
  it('applies documented defaults without the backend settings', () => {
    const config = loadEdgeConfig({});
    expect(config.allowedOrigins).toEqual({ any: true });
    expect(config.rateLimitPolicies).toEqual({
      standard: { binding: 'RATE_LIMIT_STANDARD', limit: 60, period: 60 },
      high: { binding: 'RATE_LIMIT_HIGH', limit: 600, period: 60 },
    });
    expect(config).toMatchObject({ coyoFilterMaxRowsScanned: 65_536, coyoFilterMaxReads: 32, coyoExportMaxReads: 4 });
  });

  it('reads rate-limit policies and COYO scan budgets from vars', () => {
    const config = loadEdgeConfig({ RATE_LIMIT_HIGH_LIMIT: '1200', RATE_LIMIT_HIGH_PERIOD: 10, COYO_FILTER_MAX_ROWS_SCANNED: '1000', COYO_FILTER_MAX_READS: 4, COYO_EXPORT_MAX_READS: '64' });
    expect(config.rateLimitPolicies.high).toEqual({ binding: 'RATE_LIMIT_HIGH', limit: 1200, period: 10 });
    expect(config).toMatchObject({ coyoFilterMaxRowsScanned: 1000, coyoFilterMaxReads: 4, coyoExportMaxReads: 64 });
  });

  it('refuses a period the rate-limit binding does not accept, naming the variable', () => {
    expect(() => loadEdgeConfig({ RATE_LIMIT_STANDARD_PERIOD: 30 })).toThrow(/RATE_LIMIT_STANDARD_PERIOD must be 10 or 60/);
    expect(() => loadEdgeConfig({ COYO_FILTER_MAX_READS: '0' })).toThrow(/COYO_FILTER_MAX_READS/);
    expect(() => loadEdgeConfig({ COYO_EXPORT_MAX_READS: '2.5' })).toThrow(/COYO_EXPORT_MAX_READS/);
  });

  it('is the part of the full configuration the middleware sees', () => {
    const config = loadConfig(base({ ALLOWED_ORIGINS: 'https://a.example', COYO_FILTER_MAX_READS: 8 }));
    expect(config.allowedOrigins).toEqual({ any: false, origins: new Set(['https://a.example']) });
    expect(config.coyoFilterMaxReads).toBe(8);
  });
});
