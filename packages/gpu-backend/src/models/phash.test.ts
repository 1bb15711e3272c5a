import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ImageInputError } from './errors.js';
import { decodeToRgb } from './preprocess.js';
import { phashDistance, phashOf, phashStagesOf, phashStagesOfL, phashStagesOfRgb, rgbToL } from './phash.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const LIMITS = { maxPixels: 40_000_000 };

/**
 * The shared fixtures sit beside the main checkout (`<main>/../shared`). From a linked git
 * worktree that is found through the common git directory; `<repo>/../shared` otherwise.
 */
function sharedFixtures(name: string): string {
  const candidates: string[] = [];
  try {
    const common = execFileSync('git', ['rev-parse', '--path-format=absolute', '--git-common-dir'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    candidates.push(resolve(common, '../../shared/fixtures', name));
  } catch {
    // not a git checkout: only the fallback below
  }
  candidates.push(resolve(REPO_ROOT, '../shared/fixtures', name));
  const found = candidates.find((dir) => existsSync(join(dir, 'manifest.json')));
  if (found === undefined) throw new Error(`fixtures '${name}' not found; looked in ${candidates.join(', ')}`);
  return found;
}

const FIXTURES = sharedFixtures('phash');

const ManifestSchema = z.object({
  cases: z
    .array(
      z.object({
        image: z.string(),
        mode: z.string(),
        phash: z.string().regex(/^[0-9a-f]{16}$/),
        pixels_32x32_L: z.array(z.array(z.number().int().min(0).max(255)).length(32)).length(32),
        dct_low_8x8: z.array(z.array(z.number()).length(8)).length(8),
        median: z.number(),
        min_distance_to_median: z.number(),
      }),
    )
    .min(1),
  hamming: z.record(z.string(), z.number().int()),
});
const manifest = ManifestSchema.parse(JSON.parse(await readFile(join(FIXTURES, 'manifest.json'), 'utf8')));

describe('phashOf against imagehash.phash (Pillow 9.4, scipy 1.10)', () => {
  it.each(manifest.cases.map((c) => [c.image, c.mode, c] as const))(
    'reproduces every stage of %s (%s) exactly',
    async (_name, _mode, testCase) => {
      const stages = await phashStagesOf(await readFile(join(FIXTURES, testCase.image)), LIMITS);
      expect(Array.from(stages.pixels)).toEqual(testCase.pixels_32x32_L.flat());
      expect(Array.from(stages.dctLow)).toEqual(testCase.dct_low_8x8.flat());
      expect(stages.median).toBe(testCase.median);
      expect(stages.hash).toBe(testCase.phash);
    },
  );

  it('matches the hash of every fixture through the public function', async () => {
    for (const testCase of manifest.cases) {
      expect(await phashOf(await readFile(join(FIXTURES, testCase.image)), LIMITS), testCase.image).toBe(testCase.phash);
    }
  });

  it('sets only the DC bit of a flat image, whose AC coefficients all tie the median at exactly 0', async () => {
    const stages = await phashStagesOf(await readFile(join(FIXTURES, 'flat-grey-64x64.png')), LIMITS);
    expect(stages.median).toBe(0);
    expect(Array.from(stages.dctLow.subarray(1)).every((v) => v === 0)).toBe(true);
    expect(stages.dctLow[0]).toBeGreaterThan(0);
    expect(stages.hash).toBe('8000000000000000');
  });

  it.each(Object.entries(manifest.hamming))('gives the reference distance for %s', async (pair, distance) => {
    const [a, b] = pair.split(' vs ') as [string, string];
    const hashes = await Promise.all([a, b].map(async (f) => phashOf(await readFile(join(FIXTURES, f)), LIMITS)));
    expect(phashDistance(...(hashes as [string, string]))).toBe(distance);
  });
});

describe('phashOf', () => {
  it('ignores the EXIF orientation, as Image.open does', async () => {
    const width = 48;
    const height = 24;
    const raw = Buffer.from(Array.from({ length: width * height * 3 }, (_, i) => (i * 7) % 256));
    const encode = (orientation?: number): Promise<Buffer> => {
      const jpeg = sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 95 });
      return (orientation === undefined ? jpeg : jpeg.withMetadata({ orientation })).toBuffer();
    };
    const [plain, rotated] = await Promise.all([encode(), encode(6)]);
    expect((await decodeToRgb(rotated, LIMITS)).width).toBe(height); // the ALIGN/ViT decode does rotate
    expect(await phashOf(rotated, LIMITS)).toBe(await phashOf(plain, LIMITS));
  });

  it('refuses what the decoder refuses', async () => {
    await expect(phashOf(new TextEncoder().encode('not an image'), LIMITS)).rejects.toBeInstanceOf(ImageInputError);
    const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#000' } }).png().toBuffer();
    await expect(phashOf(png, { maxPixels: 99 })).rejects.toMatchObject({ type: 'image_too_large' });
  });

  it('gives the same stages from RGB as from its L conversion', async () => {
    const image = await decodeToRgb(await readFile(join(FIXTURES, 'scene-640x480.jpg')), LIMITS, { autoOrient: false });
    expect(phashStagesOfL(rgbToL(image), image.width, image.height)).toEqual(phashStagesOfRgb(image));
  });

  it('hashes an L image of a single pixel', () => {
    expect(phashStagesOfL(new Uint8Array([200]), 1, 1).hash).toBe('8000000000000000');
  });
});

describe('rgbToL', () => {
  it("uses Pillow's fixed-point luma, not the rounded-down decimal formula", () => {
    // Pillow 9.4: Image.new('RGB', (3, 1)) with these pixels, convert('L') → [1, 76, 124]
    // (R·299/1000 + G·587/1000 + B·114/1000 would give 0 for the first).
    const rgb = new Uint8Array([0, 0, 5, 255, 0, 0, 10, 200, 30]);
    expect(Array.from(rgbToL({ data: rgb, width: 3, height: 1 }))).toEqual([1, 76, 124]);
  });

  it('keeps grey levels unchanged', () => {
    const rgb = Uint8Array.from({ length: 256 * 3 }, (_, i) => Math.floor(i / 3));
    expect(Array.from(rgbToL({ data: rgb, width: 256, height: 1 }))).toEqual(Array.from({ length: 256 }, (_, i) => i));
  });
});

describe('phashDistance', () => {
  it('counts differing bits', () => {
    expect(phashDistance('0000000000000000', 'ffffffffffffffff')).toBe(64);
    expect(phashDistance('a71e386996c7691a', 'a71e386996c7691a')).toBe(0);
    expect(phashDistance('8000000000000000', '0000000000000001')).toBe(2);
  });

  it('refuses strings that are not 16 hex digits', () => {
    expect(() => phashDistance('abc', '0000000000000000')).toThrow(RangeError);
  });
});
