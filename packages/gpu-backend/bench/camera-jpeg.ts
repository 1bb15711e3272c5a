/**
 * The benchmarks' camera-size image: a smooth 4032×3024 picture with sensor-like noise, encoded as a phone
 * camera's JPEG (2.45 MB at quality 85). Deterministic, so every run and every bench hashes, decodes and
 * sends the same bytes. Exported as `@coyo/gpu-backend/camera-jpeg` for the edge bench.
 */
import sharp from 'sharp';

export async function cameraJpeg(): Promise<Buffer> {
  const width = 4032;
  const height = 3024;
  const raw = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const noise = (seed >>> 24) & 15;
      const o = (y * width + x) * 3;
      raw[o] = ((x * 255) / width + noise) & 255;
      raw[o + 1] = ((y * 255) / height + noise) & 255;
      raw[o + 2] = (((x + y) * 128) / width + noise) & 255;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}
