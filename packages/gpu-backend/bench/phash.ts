/**
 * `pnpm --filter @coyo/gpu-backend bench:phash`: throughput and CPU cost of `phashOf` on one thread,
 * beside its floor, the decode alone (`decodeToRgb`, which every pHash pays), and the cost of each
 * later stage on the decoded pixels: Pillow luma and the Lanczos resize to 32×32 in one WebAssembly
 * call (what `phashOf` runs) and in the JavaScript reference, the 32×32 DCT-II. Images are generated (deterministic, photo-like
 * gradients with texture) at the sizes pHash inputs usually have. Never part of the test suite.
 *
 * Options:
 *   --duration <s>   seconds per measurement (default 2)
 */
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { Dct2, dct2d } from '../src/models/pocketfft-dct.js';
import { phashOf, rgbToL } from '../src/models/phash.js';
import { WasmPillowResizer } from '../src/models/pillow-resize-wasm.js';
import { LANCZOS, pillowResizeWindow } from '../src/models/pillow-resize.js';
import { decodeToRgb, type RgbImage } from '../src/models/preprocess.js';

const LIMITS = { maxPixels: 40_000_000 };
const L_LANCZOS = { filter: LANCZOS, channels: 1 } as const;

interface Measurement {
  perSecond: number;
  cpuMsPerItem: number;
}

/** Runs `fn` back to back for `seconds` (at least 3 times) after one warm-up call. */
async function measure(seconds: number, fn: () => unknown): Promise<Measurement> {
  await fn();
  const start = performance.now();
  const cpu = process.cpuUsage();
  let n = 0;
  while (n < 3 || performance.now() - start < seconds * 1000) {
    await fn();
    n++;
  }
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { perSecond: (n * 1000) / wallMs, cpuMsPerItem: (used.user + used.system) / 1000 / n };
}

/** A smooth two-colour gradient with a ripple and pixel noise, so encoders work as on photos. */
async function photoLike(width: number, height: number, format: 'jpeg' | 'png'): Promise<Uint8Array> {
  const rgb = Buffer.alloc(width * height * 3);
  let seed = 12_345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      const noise = (seed >>> 27) - 16;
      const ripple = 40 * Math.sin(x / 23) * Math.cos(y / 31);
      const p = (y * width + x) * 3;
      rgb[p] = Math.max(0, Math.min(255, (255 * x) / width + ripple + noise));
      rgb[p + 1] = Math.max(0, Math.min(255, (255 * y) / height - ripple + noise));
      rgb[p + 2] = Math.max(0, Math.min(255, 128 + ripple + noise));
    }
  }
  const image = sharp(rgb, { raw: { width, height, channels: 3 } });
  return new Uint8Array(await (format === 'jpeg' ? image.jpeg({ quality: 90 }) : image.png()).toBuffer());
}

const fmt = (m: Measurement): string => `${m.perSecond.toFixed(1).padStart(8)} img/s ${m.cpuMsPerItem.toFixed(2).padStart(8)} CPU ms/img`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { duration: { type: 'string', default: '2' } } });
  const seconds = Number(values.duration);
  if (!(seconds > 0)) throw new Error(`--duration must be a positive number of seconds, got ${values.duration}`);
  sharp.concurrency(1); // one libvips thread: the numbers are per core
  const resizer = new WasmPillowResizer();
  const plan = new Dct2(32);
  const cases: Array<[string, number, number, 'jpeg' | 'png']> = [
    ['JPEG 1600×1200', 1600, 1200, 'jpeg'],
    ['JPEG 640×480', 640, 480, 'jpeg'],
    ['PNG 800×600', 800, 600, 'png'],
    ['JPEG 227×300', 227, 300, 'jpeg'],
  ];
  console.log(`pHash on one thread, ${seconds} s per line (Node ${process.version}, sharp on 1 thread)`);
  for (const [name, width, height, format] of cases) {
    const bytes = await photoLike(width, height, format);
    const decoded: RgbImage = await decodeToRgb(bytes, LIMITS, { autoOrient: false });
    const l = rgbToL(decoded);
    const pixels = resizer.resizeWindow(l, width, height, 32, 32, undefined, L_LANCZOS);
    const decode = await measure(seconds, () => decodeToRgb(bytes, LIMITS, { autoOrient: false }));
    const full = await measure(seconds, () => phashOf(bytes, LIMITS));
    const wasm = await measure(seconds / 4, () =>
      resizer.resizeLumaWindowView(decoded.data, width, height, 32, 32, undefined, { filter: LANCZOS }),
    );
    const luma = await measure(seconds / 4, () => rgbToL(decoded));
    const js = await measure(seconds / 4, () => pillowResizeWindow(l, width, height, 32, 32, undefined, L_LANCZOS));
    const dct = await measure(seconds / 4, () => dct2d(pixels, 32, plan));
    console.log(`\n${name} (${(bytes.length / 1024).toFixed(0)} KiB)`);
    console.log(`  decode only (floor)       ${fmt(decode)}`);
    console.log(`  phashOf                   ${fmt(full)}   (${(full.cpuMsPerItem - decode.cpuMsPerItem).toFixed(2)} CPU ms above the floor)`);
    console.log(`    L + Lanczos 32×32, wasm ${fmt(wasm)}`);
    console.log(`    L, JS reference         ${fmt(luma)}`);
    console.log(`    Lanczos 32×32, JS ref.  ${fmt(js)}`);
    console.log(`    DCT-II 32×32            ${fmt(dct)}`);
  }
}

await main();
