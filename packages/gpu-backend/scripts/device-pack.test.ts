/**
 * The device pack as the GPU host would get it: assembled (quickest compression: if that is under the
 * limit, the shipped one is too), then unpacked and run by its own runner on the CPU, where the one-file
 * backend serves the pack's test models to the bundled bench. The Python scripts are compiled.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { freePort } from '../test/free-port.js';
import { nativeJpegBuildInfo } from './build-native.js';
import { PACK_LIMIT_BYTES, PAYLOAD_NAME, devicePack, type Manifest } from './device-pack.js';

const PACKAGE_DIR = fileURLToPath(new URL('../', import.meta.url));
let root: string;
let dir: string;
let manifest: Manifest;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'device-pack-'));
  ({ dir, manifest } = await devicePack({ out: join(root, 'pack'), 'xz-level': 0, 'node-binary': process.execPath, 'no-deb': true }));
}, 240_000);

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('device pack', () => {
  it('is one folder under 60 MiB with Node, the one-file backend and Linux x64 native libraries only', () => {
    expect(manifest.totalBytes).toBeLessThan(PACK_LIMIT_BYTES);
    expect(manifest.files.map((f) => f.path)).toEqual(
      expect.arrayContaining([PAYLOAD_NAME, 'bench-gpu.sh', 'bench_gpu.py', 'torch_vit_peer.py', 'export.py']),
    );
    const inside = manifest.payload.files.map((f) => f.path);
    expect(inside).toEqual(
      expect.arrayContaining([
        'app/bin/node',
        'app/lib/bin/backend.mjs',
        'app/lib/bin/gen-models.mjs',
        'app/lib/bin/bench.mjs',
        'app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1',
        'app/node_modules/@img/sharp-linux-x64/package.json',
        'app/models-test/vit-large-patch16-384/onnx/model.onnx',
      ]),
    );
    expect(inside.some((p) => /^app\/node_modules\/@img\/sharp-linux-x64\/lib\/sharp-linux-x64[^/]*\.node$/.test(p))).toBe(true);
    expect(inside.filter((p) => /\/(darwin|win32|linux\/arm64)\//.test(p))).toEqual([]);
    // The native JPEG decoder where the bundles look for it, with libjpeg beside it when linked dynamically.
    const jpeg = nativeJpegBuildInfo();
    if (jpeg !== null) {
      expect(inside).toContain('app/native/jpeg/build/jpeg_decode.node');
      if (jpeg.linkage === 'dynamic') expect(inside).toContain('app/native/jpeg/build/libjpeg.so.62');
      expect(manifest.nativeJpeg).toMatch(/^libjpeg-turbo/);
    }
    const written = z.object({ totalBytes: z.number() }).parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    expect(written.totalBytes).toBe(manifest.totalBytes);
  });

  it('unpacks and serves the test models through its runner on the CPU', () => {
    const work = join(root, 'work');
    const run = spawnSync('python3', [join(dir, 'bench_gpu.py'), '--smoke-only', '--device', 'cpu', '--work', work], {
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    const smoke = z
      .object({ cells: z.array(z.object({ workload: z.string(), requests: z.number(), errors: z.number() })) })
      .parse(JSON.parse(readFileSync(join(work, 'results/smoke.json'), 'utf8')));
    expect(smoke.cells.map((c) => c.workload).sort()).toEqual(['text', 'vit']);
    for (const cell of smoke.cells) {
      expect(cell.errors).toBe(0);
      expect(cell.requests).toBeGreaterThan(0);
    }
    const report = z.object({ probe: z.object({ device: z.string() }), device: z.literal('cpu') }).parse(JSON.parse(readFileSync(join(work, 'results/bench-gpu.json'), 'utf8')));
    expect(['cpu', 'webgpu', 'cuda']).toContain(report.probe.device);
  }, 240_000);

  it('runs its one-file backend on the native JPEG decoder it carries', async () => {
    if (nativeJpegBuildInfo() === null) return; // nothing to carry where the addon cannot be built
    const app = join(root, 'work/app'); // unpacked by the runner in the test above
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', ALLOW_NO_AUTH: '1', MODELS_DIR: join(app, 'models-test'), COYO_DEVICE: 'cpu', COYO_HTTP_PROCESSES: '1', LD_LIBRARY_PATH: '' };
    delete env.COYO_JPEG_ADDON;
    delete env.COYO_JPEG_DECODER;
    const child = spawn(join(app, 'bin/node'), [join(app, 'lib/bin/backend.mjs')], { env, stdio: 'ignore' });
    try {
      const deadline = Date.now() + 90_000;
      let health: unknown;
      while (Date.now() < deadline) {
        health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.json(), () => undefined);
        if (typeof health === 'object' && health !== null && 'jpeg_decoder' in health) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(health).toMatchObject({ status: 'ok', jpeg_decoder: 'libjpeg-turbo' });
      // The libjpeg it loaded is the pack's copy (the addon's rpath is $ORIGIN), not this machine's.
      if (nativeJpegBuildInfo()?.linkage === 'dynamic' && child.pid !== undefined) {
        const maps = readFileSync(`/proc/${child.pid}/maps`, 'utf8');
        expect(maps).toContain(join(app, 'native/jpeg/build/libjpeg.so.62'));
      }
    } finally {
      child.kill('SIGTERM');
    }
  }, 120_000);

  it('ships Python that compiles', () => {
    const files = ['device/bench_gpu.py', 'device/torch_vit_peer.py', 'bench/pillow-floor.py', 'export/export.py'].map((f) => join(PACKAGE_DIR, f));
    const check = spawnSync('python3', ['-c', 'import sys\nfor f in sys.argv[1:]: compile(open(f, encoding="utf-8").read(), f, "exec")', ...files], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
  });
});
