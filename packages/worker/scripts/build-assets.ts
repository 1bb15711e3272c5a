/**
 * Builds the pages served as Workers static assets (wrangler.toml `[assets]`) into `dist/assets`:
 * `assets/public/*` copied as is (the HTML, `_headers`, the icon), and the TypeScript and CSS of each
 * page bundled by esbuild, Swagger UI included, so nothing is loaded from another origin.
 * Run: `pnpm --filter @coyo/worker build:assets` (`--watch` rebuilds on change). `pnpm dev`, the
 * worker's tests and the end-to-end setup run it first, so no one serves stale pages.
 */
import { cpSync, mkdirSync, rmSync, watch as watchFiles } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { context, type BuildOptions } from 'esbuild';

const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const SOURCE_DIR = join(PACKAGE_DIR, 'assets');
/** Where the built assets go; wrangler.toml's `[assets] directory` points here. */
export const ASSETS_OUT_DIR = join(PACKAGE_DIR, 'dist', 'assets');

const OPTIONS: BuildOptions = {
  absWorkingDir: SOURCE_DIR,
  entryPoints: ['playground.ts', 'docs.ts', 'playground.css', 'docs.css'],
  outdir: ASSETS_OUT_DIR,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome111', 'firefox113', 'safari16.4'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
};

/**
 * Builds every page into `ASSETS_OUT_DIR`. Once, it empties the folder first; with `watch`, it keeps
 * rebuilding the bundles and re-copying `public/` on change (a running `wrangler dev` serves the new
 * files), and never leaves the folder empty.
 */
export async function buildAssets(options: { watch?: boolean } = {}): Promise<void> {
  const publicDir = join(SOURCE_DIR, 'public');
  if (options.watch !== true) rmSync(ASSETS_OUT_DIR, { recursive: true, force: true });
  mkdirSync(ASSETS_OUT_DIR, { recursive: true });
  cpSync(publicDir, ASSETS_OUT_DIR, { recursive: true });
  const ctx = await context(OPTIONS);
  await ctx.rebuild();
  if (options.watch === true) {
    await ctx.watch();
    watchFiles(publicDir, () => {
      cpSync(publicDir, ASSETS_OUT_DIR, { recursive: true });
    });
    return;
  }
  await ctx.dispose();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const watch = process.argv.includes('--watch');
  await buildAssets({ watch });
  console.log(`built the pages into ${ASSETS_OUT_DIR}${watch ? ' (watching for changes)' : ''}`);
}
