/**
 * The two HTML pages (Workers static assets built from packages/worker/assets) in a real Chromium
 * against the real local stack (worker in workerd from the root wrangler.toml + the GPU backend
 * process): /docs must render every operation /openapi.json describes and call the API with the key
 * the playground remembered, the playground must show the same scores, in the same order, as a direct
 * API call, and both must work offline under a Content-Security-Policy that names no other origin.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WRANGLER_CONFIG, runCliOk } from '../coyo/cli.ts';
import { startStack, type Stack } from '../harness/stack.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
const SHOT_DIR = mkdtempSync(join(tmpdir(), 'coyo-pages-'));
const PAGES = ['/', '/docs'] as const;

declare global {
  interface Window {
    /** CSP violations the page reported (collected by an init script). */
    cspViolations?: string[];
  }
}

interface LabelScore {
  label: string;
  score: number;
}

/** A small PNG with some structure (two colour blocks and a gradient band), generated per run. */
async function makePng(): Promise<Buffer> {
  const width = 96;
  const height = 64;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const left = x < width / 2;
      pixels[i] = left ? 220 : Math.round((x / width) * 255);
      pixels[i + 1] = left ? 120 : 90;
      pixels[i + 2] = y > height * 0.7 ? Math.round((y / height) * 255) : 40;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

describe('HTML pages in Chromium against the real stack', () => {
  let stack: Stack;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let pageErrors: string[];

  beforeAll(async () => {
    // A small COYO version (with its provenance tables) for the "Is this image in COYO?" box.
    const persistDir = mkdtempSync(join(tmpdir(), 'coyo-pages-state-'));
    const sample = mkdtempSync(join(tmpdir(), 'coyo-pages-sample-'));
    await runCliOk(['sample', '--rows', '1000', '--seed', '7', '--out', sample]);
    await runCliOk([
      'ingest', sample, '--target', 'local', '--config', WRANGLER_CONFIG, '--persist', join(persistDir, 'v3'),
      '--work-dir', mkdtempSync(join(tmpdir(), 'coyo-pages-work-')), '--progress', 'none',
    ]);
    stack = await startStack({ persistDir });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });
  afterAll(async () => {
    // Unset when beforeAll failed before starting them.
    await (browser as Browser | undefined)?.close();
    await (stack as Stack | undefined)?.stop();
  });
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.addInitScript(() => {
      window.cspViolations = [];
      document.addEventListener('securitypolicyviolation', (event) => {
        window.cspViolations?.push(`${event.effectiveDirective} ${event.blockedURI}`);
      });
    });
    page = await context.newPage();
    pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(`pageerror: ${error.message}`));
    page.on('console', (message) => {
      // A refused API call logs "Failed to load resource" by design; anything else is a defect.
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) pageErrors.push(`console: ${message.text()}`);
    });
    // The pages must work offline: any request to another origin fails the test.
    await context.route(
      (url) => url.origin !== new URL(stack.workerUrl).origin && url.protocol !== 'data:' && url.protocol !== 'blob:',
      async (route) => {
        pageErrors.push(`external request: ${route.request().url()}`);
        await route.abort();
      },
    );
  });
  afterEach(async () => {
    await (context as BrowserContext | undefined)?.close();
  });

  /** `METHOD /path` of every operation Swagger UI rendered, each once. */
  async function renderedOperations(): Promise<string[]> {
    const ops = await page.$$eval('#swagger-ui .opblock', (blocks) =>
      blocks.map((block) => {
        const method = block.querySelector('.opblock-summary-method')?.textContent.trim().toUpperCase() ?? '';
        const path = block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '';
        return `${method} ${path}`;
      }),
    );
    return [...new Set(ops)].sort();
  }

  it.each(PAGES)('%s is served with a CSP that names no other origin and allows no inline code', async (path) => {
    const res = await fetch(`${stack.workerUrl}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toMatch(/https?:|\*|unsafe-inline|unsafe-eval/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    // Every script and stylesheet is a same-origin file; none is inline.
    expect(html).not.toMatch(/<script(?![^>]*\ssrc="\/)[^>]*>/i);
    expect(html).not.toMatch(/<style|\sstyle=/i);
    for (const [, src] of html.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)) {
      const asset = await fetch(`${stack.workerUrl}${src}`);
      expect(asset.status, src).toBe(200);
      expect(asset.headers.get('content-security-policy'), src).toBe(csp);
    }
  });

  it('answers API and unknown paths from the worker, not the assets', async () => {
    const spec = await fetch(`${stack.workerUrl}/openapi.json`);
    expect(spec.headers.get('content-type')).toMatch(/^application\/json/);
    for (const path of ['/v1/no-such-route', '/no-such-page']) {
      const res = await fetch(`${stack.workerUrl}${path}`, { headers: { authorization: `Bearer ${stack.apiKey}` } });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
    }
  });

  it('/docs renders every operation that /openapi.json describes, offline', async () => {
    const spec = (await (await fetch(`${stack.workerUrl}/openapi.json`)).json()) as { paths: Record<string, Partial<Record<string, unknown>>> };
    const expected = Object.entries(spec.paths)
      .flatMap(([path, item]) => METHODS.filter((m) => item[m] !== undefined).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(expected).toContain('POST /v1/zero-shot');

    await page.goto(`${stack.workerUrl}/docs`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    await page.waitForSelector('#swagger-ui .opblock');
    expect(await renderedOperations()).toEqual(expected);

    const zeroShot = page.locator('#swagger-ui .opblock').filter({ has: page.locator('.opblock-summary-path[data-path="/v1/zero-shot"]') }).first();
    await zeroShot.locator('.opblock-summary-control').click();
    await expect.poll(() => zeroShot.innerText()).toContain('labels');
    // The operationId, and the example answer of the document (a score no schema example carries).
    const shown = await zeroShot.innerText();
    expect(shown).toContain('zeroShot');
    expect(shown).toContain('0.9312');

    await page.screenshot({ path: join(SHOT_DIR, 'docs.png') });
    expect(await page.evaluate(() => window.cspViolations)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('/docs calls this server with the key the playground remembered', async () => {
    await page.goto(`${stack.workerUrl}/`);
    await page.fill('#api-key', stack.apiKey);
    await page.goto(`${stack.workerUrl}/docs`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });

    const models = page.locator('#swagger-ui .opblock').filter({ has: page.locator('.opblock-summary-path[data-path="/v1/models"]') }).first();
    await models.locator('.opblock-summary-control').click();
    await models.locator('button.try-out__btn').click();
    await models.locator('button.execute').click();
    const status = models.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor({ timeout: 30_000 });
    expect((await status.innerText()).trim()).toBe('200');
    // The request went to this origin (the spec's production server is listed second).
    expect(await models.locator('.request-url').innerText()).toContain(`${stack.workerUrl}/v1/models`);
    expect(await page.evaluate(() => window.cspViolations)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('/docs remembers a key typed in its Authorize dialog for the playground, and forgets it on logout', async () => {
    await page.goto(`${stack.workerUrl}/docs`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    await page.click('#swagger-ui .auth-wrapper button.authorize');
    await page.locator('.modal-ux input').first().fill(stack.apiKey);
    await page.click('.modal-ux button.authorize');
    await page.click('.modal-ux button.btn-done');

    await page.goto(`${stack.workerUrl}/`);
    expect(await page.inputValue('#api-key')).toBe(stack.apiKey);

    await page.goto(`${stack.workerUrl}/docs`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    await page.click('#swagger-ui .auth-wrapper button.authorize');
    await page.click('.modal-ux button[aria-label="Remove authorization"]');
    await page.goto(`${stack.workerUrl}/`);
    expect(await page.inputValue('#api-key')).toBe('');
    expect(pageErrors).toEqual([]);
  });

  it('/ shows bars whose labels and order match a direct zero-shot call, and remembers the key', async () => {
    const png = await makePng();
    const labels = ['a red square', 'a blue circle', 'a landscape', 'text'];
    const direct = await fetch(`${stack.workerUrl}/v1/zero-shot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: { base64: png.toString('base64') }, labels }),
    });
    expect(direct.status).toBe(200);
    const expected = (await direct.json()) as LabelScore[];
    expect(expected.map((s) => s.label).sort()).toEqual([...labels].sort());

    await page.goto(`${stack.workerUrl}/`);
    await page.fill('#api-key', stack.apiKey);
    await page.setInputFiles('#file', { name: 'generated.png', mimeType: 'image/png', buffer: png });
    await expect.poll(() => page.locator('#preview').isVisible()).toBe(true);
    await page.fill('#labels', labels.join(', '));
    await page.click('#classify');
    await page.waitForSelector('#bars li.bar', { timeout: 30_000 });

    const bars = await page.$$eval('#bars li.bar', (items) =>
      items.map((li) => ({ label: (li as HTMLElement).dataset.label ?? '', score: Number((li as HTMLElement).dataset.score) })),
    );
    expect(bars.map((b) => b.label)).toEqual(expected.map((s) => s.label));
    bars.forEach((bar, i) => {
      expect(bar.score).toBeCloseTo(expected[i]?.score ?? Number.NaN, 6);
    });
    expect(await page.locator('#bars li.bar.top .bar-label').innerText()).toBe(expected[0]?.label);
    expect(await page.locator('#error').isHidden()).toBe(true);

    await page.waitForTimeout(700); // let the bars finish their width transition for the screenshot
    await page.screenshot({ path: join(SHOT_DIR, 'playground.png'), fullPage: true });

    await page.reload();
    expect(await page.inputValue('#api-key')).toBe(stack.apiKey);
    expect(await page.evaluate(() => window.cspViolations)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('/ answers "Is this image in COYO?" with the pHash and rows a direct lookup-image call gives', async () => {
    const png = await makePng();
    const direct = await fetch(`${stack.workerUrl}/v1/coyo/lookup-image`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: { base64: png.toString('base64') }, max_distance: 8 }),
    });
    expect(direct.status).toBe(200);
    const expected = (await direct.json()) as { phash: string; total: number; matches: { row: { id: number } }[] };
    expect(expected.phash).toMatch(/^[0-9a-f]{16}$/);

    await page.goto(`${stack.workerUrl}/`);
    await page.fill('#api-key', stack.apiKey);
    await page.setInputFiles('#provenance-file', { name: 'generated.png', mimeType: 'image/png', buffer: png });
    await page.selectOption('#provenance-distance', '8');
    await page.click('#provenance-submit');
    await page.waitForSelector('#provenance-summary:not([hidden])', { timeout: 30_000 });
    const summary = await page.locator('#provenance-summary').innerText();
    expect(summary).toContain(expected.phash);
    expect(summary).toContain(expected.total === 0 ? 'no COYO-700M row within distance 8' : `${expected.total} row`);
    const ids = await page.$$eval('#provenance-matches li code', (codes) => codes.map((c) => Number(c.textContent)));
    expect(ids).toEqual(expected.matches.map((m) => m.row.id));
    expect(await page.locator('#provenance-error').isHidden()).toBe(true);
    expect(await page.evaluate(() => window.cspViolations)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('/ shows the problem detail when the API refuses the key', async () => {
    const unknownKey = `coyo_${'Z'.repeat(32)}`;
    const direct = await fetch(`${stack.workerUrl}/v1/zero-shot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${unknownKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: { base64: (await makePng()).toString('base64') }, labels: ['x'] }),
    });
    expect(direct.status).toBe(401);
    const problem = (await direct.json()) as { detail: string; title: string };

    await page.goto(`${stack.workerUrl}/`);
    await page.fill('#api-key', unknownKey);
    await page.setInputFiles('#file', { name: 'generated.png', mimeType: 'image/png', buffer: await makePng() });
    await page.fill('#labels', 'x');
    await page.click('#classify');
    await page.waitForSelector('#error:not([hidden])', { timeout: 30_000 });
    const shown = await page.locator('#error').innerText();
    expect(shown).toContain(problem.title);
    expect(shown).toContain(problem.detail);
    expect(shown).toContain('HTTP 401');
    expect(await page.locator('#bars li').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
