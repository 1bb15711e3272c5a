/**
 * The shell shared by the HTML pages (`/` and `/docs`): one inline stylesheet and one inline script
 * per page, no external resources, so the pages work offline and under a strict Content-Security-Policy
 * that allows exactly these two blocks by hash.
 */

/** What a page is made of; the script and style are inlined and allowed by their SHA-256 hashes. */
export interface PageParts {
  title: string;
  /** Which navigation link is marked as the current page. */
  current: 'playground' | 'docs';
  /** Trusted markup for `<main>`, written in this module's siblings (never user input). */
  body: string;
  /** Page-specific script, run after the DOM is parsed (the tag sits at the end of `<body>`). */
  script: string;
  /** Page-specific CSS appended to the shared sheet. */
  style?: string;
}

/** A rendered page: the HTML, and the inline blocks the CSP must allow. */
export interface RenderedPage {
  html: string;
  inlineScript: string;
  inlineStyle: string;
}

/** The `localStorage` key both pages use, so a key typed in the playground is there in /docs too. */
export const API_KEY_STORAGE_KEY = 'coyo-edge.api-key';

// A small mark (two offset squares, the "pairs" of an image-text dataset) as an inline SVG favicon:
// a data: URL stops the browser from asking the API for /favicon.ico.
const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect x='3' y='3' width='18' height='18' rx='5' fill='%236366f1'/%3E%3Crect x='11' y='11' width='18' height='18' rx='5' fill='%2306b6d4' fill-opacity='.85'/%3E%3C/svg%3E";

const LOGO = `<svg class="logo" viewBox="0 0 32 32" aria-hidden="true"><rect x="3" y="3" width="18" height="18" rx="5" fill="#6366f1"/><rect x="11" y="11" width="18" height="18" rx="5" fill="#06b6d4" fill-opacity=".85"/></svg>`;

export const BASE_STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f6f7fb; --panel: #ffffff; --panel-2: #f1f3f9; --text: #151a2d; --muted: #5d6785;
  --border: #e2e6f0; --accent: #6366f1; --accent-2: #06b6d4; --accent-ink: #ffffff;
  --danger: #dc2626; --danger-bg: #fef2f2; --ok: #059669; --warn: #b45309;
  --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 8px 24px rgba(16, 24, 40, .06);
  --radius: 14px;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace;
  --sans: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", sans-serif;
  --get: #059669; --post: #4f46e5; --put: #b45309; --patch: #b45309; --delete: #dc2626;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0b1020; --panel: #121832; --panel-2: #0f1530; --text: #e7eaf6; --muted: #98a2c3;
    --border: #232b4d; --danger: #f87171; --danger-bg: #2a1320; --ok: #34d399; --warn: #fbbf24;
    --shadow: 0 1px 2px rgba(0, 0, 0, .4), 0 8px 24px rgba(0, 0, 0, .25);
    --get: #34d399; --post: #a5b4fc; --put: #fbbf24; --patch: #fbbf24; --delete: #f87171;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { margin: 0; }
body { background: var(--bg); color: var(--text); font: 15px/1.5 var(--sans); -webkit-font-smoothing: antialiased; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, kbd { font-family: var(--mono); font-size: 13px; }
.topbar { position: sticky; top: 0; z-index: 10; display: flex; align-items: center; gap: 24px;
  padding: 12px 28px; background: color-mix(in srgb, var(--panel) 88%, transparent);
  backdrop-filter: saturate(1.4) blur(10px); border-bottom: 1px solid var(--border); }
.brand { display: flex; align-items: center; gap: 10px; font-weight: 700; letter-spacing: -.01em; color: var(--text); }
.brand:hover { text-decoration: none; }
.logo { width: 26px; height: 26px; }
.topbar nav { display: flex; gap: 4px; margin-left: auto; }
.topbar nav a { padding: 6px 12px; border-radius: 8px; color: var(--muted); font-weight: 500; }
.topbar nav a:hover { background: var(--panel-2); color: var(--text); text-decoration: none; }
.topbar nav a[aria-current="page"] { color: var(--text); background: var(--panel-2); }
.card { background: var(--panel); border: 1px solid var(--border); border-radius: var(--radius); box-shadow: var(--shadow); padding: 22px; }
.card h2 { margin: 0 0 4px; font-size: 17px; letter-spacing: -.01em; }
.card .sub { margin: 0 0 18px; color: var(--muted); font-size: 14px; }
label.field { display: block; margin: 0 0 14px; }
label.field > span { display: block; font-weight: 600; font-size: 13px; margin-bottom: 6px; }
.hint { color: var(--muted); font-size: 12.5px; font-weight: 400; }
input[type="text"], input[type="password"], input[type="search"], input[type="number"], textarea, select {
  width: 100%; padding: 9px 12px; border-radius: 10px; border: 1px solid var(--border);
  background: var(--panel-2); color: var(--text); font: inherit; outline: none; transition: border-color .15s, box-shadow .15s; }
textarea { font-family: var(--mono); font-size: 13px; resize: vertical; }
input:focus, textarea:focus, select:focus { border-color: var(--accent); box-shadow: 0 0 0 3px color-mix(in srgb, var(--accent) 22%, transparent); }
.row { display: flex; gap: 8px; align-items: center; }
.row > input { flex: 1; }
button { font: inherit; cursor: pointer; border-radius: 10px; border: 1px solid var(--border); background: var(--panel-2);
  color: var(--text); padding: 9px 14px; font-weight: 600; transition: transform .05s, background .15s, opacity .15s; }
button:hover { background: color-mix(in srgb, var(--panel-2) 80%, var(--accent) 20%); }
button:active { transform: translateY(1px); }
button:disabled { opacity: .55; cursor: progress; }
button.primary { background: linear-gradient(135deg, var(--accent), color-mix(in srgb, var(--accent) 55%, var(--accent-2)));
  color: var(--accent-ink); border-color: transparent; box-shadow: 0 6px 16px color-mix(in srgb, var(--accent) 35%, transparent); }
button.primary:hover { filter: brightness(1.06); }
.problem { border: 1px solid color-mix(in srgb, var(--danger) 45%, transparent); background: var(--danger-bg);
  color: var(--text); border-radius: 12px; padding: 12px 14px; font-size: 14px; }
.problem strong { color: var(--danger); }
.problem ul { margin: 6px 0 0 18px; padding: 0; }
.problem .meta { color: var(--muted); font-size: 12px; margin-top: 6px; font-family: var(--mono); }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600;
  background: var(--panel-2); border: 1px solid var(--border); color: var(--muted); }
.method { display: inline-block; min-width: 54px; text-align: center; font: 700 11px/1.9 var(--mono); letter-spacing: .04em;
  border-radius: 6px; color: var(--panel); padding: 0 6px; text-transform: uppercase; }
.method.get { background: var(--get); } .method.post { background: var(--post); } .method.put { background: var(--put); }
.method.patch { background: var(--patch); } .method.delete { background: var(--delete); }
.spinner { display: inline-block; width: 14px; height: 14px; border: 2px solid currentColor; border-right-color: transparent;
  border-radius: 50%; animation: spin .7s linear infinite; vertical-align: -2px; }
@keyframes spin { to { transform: rotate(360deg); } }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0, 0, 0, 0); border: 0; }
footer.foot { color: var(--muted); font-size: 12.5px; text-align: center; padding: 28px 0 36px; }
`;

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Renders a full HTML document from its parts. Throws when a block could end its own tag early, which
 * would be a bug in the page source, not a runtime condition.
 */
export function renderPage(parts: PageParts): RenderedPage {
  const inlineStyle = BASE_STYLE + (parts.style ?? '');
  // One function scope per page: nothing leaks into the global object.
  const inlineScript = `(() => {\n'use strict';\nconst API_KEY_STORAGE_KEY = ${JSON.stringify(API_KEY_STORAGE_KEY)};\n${parts.script}\n})();\n`;
  if (/<\/script/i.test(inlineScript) || /<\/style/i.test(inlineStyle)) {
    throw new Error('bug: an inline page block contains its own closing tag');
  }
  const nav = (href: string, label: string, key: PageParts['current'] | 'spec') =>
    `<a href="${href}"${key === parts.current ? ' aria-current="page"' : ''}>${label}</a>`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeText(parts.title)}</title>
<link rel="icon" href="${FAVICON}">
<style>${inlineStyle}</style>
</head>
<body>
<header class="topbar">
<a class="brand" href="/">${LOGO}<span>coyo-edge</span></a>
<nav>${nav('/', 'Playground', 'playground')}${nav('/docs', 'API reference', 'docs')}${nav('/openapi.json', 'OpenAPI JSON', 'spec')}</nav>
</header>
${parts.body}
<script>${inlineScript}</script>
</body>
</html>
`;
  return { html, inlineScript, inlineStyle };
}
