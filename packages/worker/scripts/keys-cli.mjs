#!/usr/bin/env node
/**
 * Runs the key CLI (`scripts/keys.ts`, see its header for the commands) from one JavaScript bundle,
 * `dist/keys.mjs`, built with esbuild on first use and again whenever a source it was built from is
 * newer. A command then starts like plain Node: no TypeScript loader thread, no resolving zod's
 * hundreds of modules (with tsx: ≈ 0.7 s more CPU per command on this machine, `bench:keys`).
 *
 *   node scripts/keys-cli.mjs list        (what `pnpm --filter @coyo/worker keys list` runs)
 *
 * The bundle sits in `dist/`, as deep below the repository root as `scripts/`, so the paths keys.ts
 * derives from its own location (the repository's wrangler.toml and `.wrangler/state`) are the same.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PACKAGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(PACKAGE_DIR, 'scripts', 'keys.ts');
export const BUNDLE = join(PACKAGE_DIR, 'dist', 'keys.mjs');
/** The files the bundle was built from (relative to the package), written beside it. */
const INPUTS = `${BUNDLE}.inputs.json`;

function mtimeMs(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

/** True when the bundle exists and none of the files it was built from changed since. */
function bundleIsFresh() {
  const built = mtimeMs(BUNDLE);
  if (built === undefined) return false;
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(INPUTS, 'utf8'));
  } catch {
    return false;
  }
  if (!Array.isArray(inputs) || inputs.length === 0) return false;
  return inputs.every((input) => {
    const changed = typeof input === 'string' ? mtimeMs(join(PACKAGE_DIR, input)) : undefined;
    return changed !== undefined && changed <= built;
  });
}

/** Builds the bundle (Miniflare and wrangler stay outside it: they are loaded from node_modules when needed). */
export async function buildBundle() {
  const { build } = await import('esbuild');
  const temp = `${BUNDLE}.${process.pid}.tmp`;
  const result = await build({
    entryPoints: [ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['miniflare', 'wrangler'],
    outfile: temp,
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: PACKAGE_DIR,
  });
  // Every input, dependencies included: an upgraded dependency lives under a new path, so the old
  // path is gone and the bundle is rebuilt.
  const inputs = Object.keys(result.metafile.inputs).map((input) => relative(PACKAGE_DIR, resolve(PACKAGE_DIR, input)));
  mkdirSync(dirname(BUNDLE), { recursive: true });
  // Renamed into place, so a command started meanwhile never loads half a file.
  renameSync(temp, BUNDLE);
  writeFileSync(INPUTS, `${JSON.stringify(inputs)}\n`);
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  try {
    if (!bundleIsFresh()) await buildBundle();
    const { runCli } = await import(pathToFileURL(BUNDLE).href);
    process.exitCode = await runCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  }
}
