/**
 * The two public HTML pages: `/` (playground) and `/docs` (API reference rendered from
 * `/openapi.json`). They are plain Hono routes, not OpenAPI operations, so they stay out of the spec.
 *
 * Each page is one HTML document with one inline `<style>` and one inline `<script>`; the
 * Content-Security-Policy allows exactly those two blocks by SHA-256 hash and nothing from other
 * origins, and the page is revalidated by a strong ETag (its content hash).
 */
import type { Env, Hono, Schema } from 'hono';
import { docsPage } from './docs';
import type { RenderedPage } from './layout';
import { playgroundPage } from './playground';

export { API_KEY_STORAGE_KEY } from './layout';

/** A page ready to serve: its bytes, validators and security headers (computed once per isolate). */
interface ServedPage {
  html: string;
  etag: string;
  csp: string;
}

async function sha256Base64(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  let binary = '';
  for (const byte of new Uint8Array(digest)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Builds the CSP and ETag of a rendered page; exported for the tests that check the hashes. */
export async function servePage(page: RenderedPage): Promise<ServedPage> {
  const [scriptHash, styleHash, htmlHash] = await Promise.all([
    sha256Base64(page.inlineScript),
    sha256Base64(page.inlineStyle),
    sha256Base64(page.html),
  ]);
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${scriptHash}'`,
    `style-src 'sha256-${styleHash}'`,
    // blob: for the preview of a chosen file, data: for the inline favicon.
    "img-src 'self' blob: data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html: page.html, etag: `"${htmlHash.slice(0, 27)}"`, csp };
}

const cache = new Map<string, Promise<ServedPage>>();

function served(name: string, build: () => RenderedPage): Promise<ServedPage> {
  let page = cache.get(name);
  if (page === undefined) {
    page = servePage(build());
    cache.set(name, page);
  }
  return page;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//, ''))
    .some((tag) => tag === etag || tag === '*');
}

async function respond(ifNoneMatch: string | undefined, page: Promise<ServedPage>): Promise<Response> {
  const { html, etag, csp } = await page;
  const headers = new Headers({
    'cache-control': 'no-cache',
    etag,
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  });
  if (etagMatches(ifNoneMatch, etag)) return new Response(null, { status: 304, headers });
  headers.set('content-type', 'text/html; charset=utf-8');
  return new Response(html, { status: 200, headers });
}

/**
 * Adds `GET /` (playground) and `GET /docs` (API reference) to the app. Both are public: the pages
 * hold no data, and every API call they make carries the key the person typed.
 *
 * @example registerPageRoutes(app) // after the API routes, so /openapi.json is the app's own spec
 */
export function registerPageRoutes<E extends Env, S extends Schema, B extends string>(app: Hono<E, S, B>): void {
  app.get('/', (c) => respond(c.req.header('if-none-match'), served('playground', playgroundPage)));
  app.get('/docs', (c) => respond(c.req.header('if-none-match'), served('docs', docsPage)));
}
