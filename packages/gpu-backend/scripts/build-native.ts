/**
 * `pnpm build:native`: compiles the JPEG decoder addon (native/jpeg/jpeg_decode.c) with gcc against
 * Node's N-API header (/usr/include/node, Debian's `nodejs`) and libjpeg-turbo (`libjpeg62-turbo-dev`),
 * into native/jpeg/build/ (ignored by git). No node-gyp and no download.
 *
 * libjpeg is linked statically when the system's libjpeg.a links into a shared object (it must be built
 * position-independent); Debian's is not, so the addon links libjpeg.so.62 dynamically, with an rpath of
 * `$ORIGIN` so a copy beside the addon (as in the device pack) is found first.
 *
 * Skips the build when the addon is newer than its source and was built with the same command. Never
 * fails the caller for a missing compiler or header: it says what is missing and exits 0, and the backend
 * then decodes JPEGs with sharp (and says so at start-up). `--force` rebuilds; `--check` exits 1 when the
 * addon cannot be built.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const PACKAGE_DIR = fileURLToPath(new URL('../', import.meta.url));
export const NATIVE_JPEG_DIR = join(PACKAGE_DIR, 'native/jpeg');
export const NATIVE_JPEG_SOURCE = join(NATIVE_JPEG_DIR, 'jpeg_decode.c');
export const NATIVE_JPEG_BUILD_DIR = join(NATIVE_JPEG_DIR, 'build');
/** Where the backend looks for the addon (`src/models/jpeg-native.ts`), relative to the package. */
export const NATIVE_JPEG_ADDON = join(NATIVE_JPEG_BUILD_DIR, 'jpeg_decode.node');
const INFO_FILE = join(NATIVE_JPEG_BUILD_DIR, 'build-info.json');

/** Node's headers: Debian's nodejs package, else beside this Node (official tarballs, nvm). */
const NODE_INCLUDE = ['/usr/include/node', join(dirname(process.execPath), '../include/node')].find((d) => existsSync(join(d, 'node_api.h'))) ?? '/usr/include/node';
const BuildInfoSchema = z.object({
  command: z.array(z.string()),
  /** The compiler flags common to both linkages: a change rebuilds. */
  flags: z.string(),
  linkage: z.enum(['static', 'dynamic']),
  /** The shared libjpeg the addon loads when linked dynamically (its real path on the build machine). */
  libjpeg: z.string().nullable(),
  sourceSha: z.string(),
});
export type BuildInfo = z.infer<typeof BuildInfoSchema>;

export type BuildResult =
  | { built: boolean; addon: string; info: BuildInfo }
  | { built: false; addon: null; missing: string };

const COMMON_FLAGS = ['-O2', '-fPIC', '-shared', '-std=c11', '-Wall', '-Wextra', '-fvisibility=hidden', `-I${NODE_INCLUDE}`];

function sourceSha(): string {
  return createHash('sha256').update(readFileSync(NATIVE_JPEG_SOURCE)).digest('hex');
}

function has(command: string): boolean {
  return spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The shared libjpeg gcc would link (`-print-file-name`), resolved to its real file. */
function sharedLibjpeg(): string | null {
  const r = spawnSync('gcc', ['-print-file-name=libjpeg.so.62'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  if (r.status !== 0 || !path.startsWith('/') || !existsSync(path)) return null;
  return realpathSync(path);
}

function readInfo(): BuildInfo | null {
  try {
    return BuildInfoSchema.parse(JSON.parse(readFileSync(INFO_FILE, 'utf8')));
  } catch {
    return null;
  }
}

/** What is missing to build the addon here, or null when everything is. */
export function missingToolchain(): string | null {
  if (!has('gcc')) return 'gcc';
  if (!existsSync(join(NODE_INCLUDE, 'node_api.h'))) return `${NODE_INCLUDE}/node_api.h (Debian's nodejs package)`;
  if (!existsSync('/usr/include/jpeglib.h')) return '/usr/include/jpeglib.h (libjpeg62-turbo-dev)';
  return null;
}

/** Builds the addon unless it is up to date (or `force`); see the file comment. */
export function buildNativeJpeg(options: { force?: boolean } = {}): BuildResult {
  const missing = missingToolchain();
  if (missing !== null) return { built: false, addon: null, missing };
  const sha = sourceSha();
  const previous = readInfo();
  if (
    options.force !== true &&
    previous !== null &&
    previous.sourceSha === sha &&
    previous.flags === COMMON_FLAGS.join(' ') &&
    existsSync(NATIVE_JPEG_ADDON) &&
    statSync(NATIVE_JPEG_ADDON).mtimeMs >= statSync(NATIVE_JPEG_SOURCE).mtimeMs
  ) {
    return { built: false, addon: NATIVE_JPEG_ADDON, info: previous };
  }
  mkdirSync(NATIVE_JPEG_BUILD_DIR, { recursive: true });
  const tmp = `${NATIVE_JPEG_ADDON}.tmp`;
  const attempts: Array<{ linkage: BuildInfo['linkage']; args: string[] }> = [
    { linkage: 'static', args: [...COMMON_FLAGS, '-o', tmp, NATIVE_JPEG_SOURCE, '-Wl,-Bstatic', '-ljpeg', '-Wl,-Bdynamic'] },
    { linkage: 'dynamic', args: [...COMMON_FLAGS, '-Wl,-rpath,$ORIGIN', '-o', tmp, NATIVE_JPEG_SOURCE, '-ljpeg'] },
  ];
  const errors: string[] = [];
  for (const { linkage, args } of attempts) {
    const r = spawnSync('gcc', args, { encoding: 'utf8' });
    if (r.status !== 0) {
      errors.push(`${linkage}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      continue;
    }
    // The addon must load in this Node before it replaces the previous one.
    const probe = spawnSync(process.execPath, ['-e', `const m={exports:{}};process.dlopen(m,${JSON.stringify(resolve(tmp))});if(typeof m.exports.decode!=='function')process.exit(3)`], { encoding: 'utf8' });
    if (probe.status !== 0) {
      errors.push(`${linkage}: built but does not load: ${probe.stderr.trim().split('\n')[0] ?? ''}`);
      continue;
    }
    renameSync(tmp, NATIVE_JPEG_ADDON);
    const info: BuildInfo = { command: ['gcc', ...args.map((a) => (a === tmp ? NATIVE_JPEG_ADDON : a))], flags: COMMON_FLAGS.join(' '), linkage, libjpeg: linkage === 'dynamic' ? sharedLibjpeg() : null, sourceSha: sha };
    writeFileSync(INFO_FILE, `${JSON.stringify(info, null, 2)}\n`);
    return { built: true, addon: NATIVE_JPEG_ADDON, info };
  }
  rmSync(tmp, { force: true });
  throw new Error(`cannot build the JPEG decoder addon: ${errors.join('; ')}`);
}

/** The build's record (linkage, the shared libjpeg it needs), or null when the addon is not built. */
export function nativeJpegBuildInfo(): BuildInfo | null {
  return existsSync(NATIVE_JPEG_ADDON) ? readInfo() : null;
}

function main(): void {
  const args = new Set(process.argv.slice(2));
  try {
    const result = buildNativeJpeg({ force: args.has('--force') });
    if (result.addon === null) {
      console.log(`native JPEG decoder not built: ${result.missing} is missing; the backend decodes JPEGs with sharp`);
      if (args.has('--check')) process.exitCode = 1;
      return;
    }
    const how = result.info.linkage === 'static' ? 'libjpeg linked statically' : `libjpeg linked dynamically (${result.info.libjpeg ?? 'libjpeg.so.62'})`;
    console.log(`native JPEG decoder ${result.built ? 'built' : 'up to date'}: ${result.addon} (${how})`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    // A failed build leaves the backend on sharp; only --check makes it fatal.
    if (args.has('--check')) process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
