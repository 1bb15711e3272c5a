import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { renderPage } from './layout';
import { registerPageRoutes } from './index';

function app() {
  const hono = new Hono();
  registerPageRoutes(hono);
  return hono;
}

async function sha256Base64(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest));
}

/** The text of the single `<tag>…</tag>` block of a document. */
function onlyBlock(html: string, tag: 'script' | 'style'): string {
  const blocks = [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))];
  expect(blocks).toHaveLength(1);
  return blocks[0]?.[1] ?? '';
}

describe.each([
  ['/', 'coyo-edge playground'],
  ['/docs', 'coyo-edge API reference'],
])('page %s', (path, title) => {
  it('is served as UTF-8 HTML with its title', async () => {
    const res = await app().request(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toContain(`<title>${title}</title>`);
  });

  it('has a CSP that allows exactly its inline script and style, by hash, and nothing from elsewhere', async () => {
    const res = await app().request(path);
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`script-src 'sha256-${await sha256Base64(onlyBlock(html, 'script'))}'`);
    expect(csp).toContain(`style-src 'sha256-${await sha256Base64(onlyBlock(html, 'style'))}'`);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
  });

  it('loads no script, stylesheet or font from another origin', async () => {
    const html = await (await app().request(path)).text();
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+rel="?stylesheet/i);
    expect(html).not.toMatch(/@import|url\(\s*['"]?https?:/i);
  });

  it('answers 304 without a body when If-None-Match carries its ETag', async () => {
    const first = await app().request(path);
    const etag = first.headers.get('etag');
    expect(etag).toMatch(/^"[A-Za-z0-9+/]+"$/);
    const second = await app().request(path, { headers: { 'if-none-match': `W/${etag}, "other"` } });
    expect(second.status).toBe(304);
    expect(await second.text()).toBe('');
    expect(second.headers.get('cache-control')).toBe('no-cache');
  });

  it('serves the full page when If-None-Match names another version', async () => {
    const res = await app().request(path, { headers: { 'if-none-match': '"stale"' } });
    expect(res.status).toBe(200);
  });
});

describe('registerPageRoutes', () => {
  it('keeps the pages out of the OpenAPI document', () => {
    const api = new OpenAPIHono();
    api.openapi(
      createRoute({ method: 'get', path: '/healthz', responses: { 200: { description: 'ok', content: { 'application/json': { schema: z.object({ ok: z.boolean() }) } } } } }),
      (c) => c.json({ ok: true }, 200),
    );
    registerPageRoutes(api);
    const doc = api.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 't', version: '1' } });
    expect(Object.keys(doc.paths ?? {})).toEqual(['/healthz']);
  });

  it('gives the playground and the docs the same API key storage slot', async () => {
    const [playground, docs] = await Promise.all([(await app().request('/')).text(), (await app().request('/docs')).text()]);
    const slot = /const API_KEY_STORAGE_KEY = ("[^"]+");/;
    expect(playground.match(slot)?.[1]).toBeDefined();
    expect(playground.match(slot)?.[1]).toBe(docs.match(slot)?.[1]);
  });
});

describe('renderPage', () => {
  it('refuses a script that would close its own tag early', () => {
    expect(() => renderPage({ title: 't', current: 'docs', body: '', script: 'const s = "</script>";' })).toThrow(/bug/);
  });

  it('escapes markup in the title', () => {
    expect(renderPage({ title: '<b>x</b>', current: 'docs', body: '', script: '' }).html).toContain('<title>&lt;b&gt;x&lt;/b&gt;</title>');
  });
});
