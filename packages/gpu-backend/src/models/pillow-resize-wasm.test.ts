import { describe, expect, it } from 'vitest';
import { rgbToL } from './phash.js';
import { RETAINED_MEMORY_BYTES, WasmPillowResizer, threadResizer } from './pillow-resize-wasm.js';
import { LANCZOS, pillowBilinearResizeWindow, pillowResizeWindow, type ResizeWindow } from './pillow-resize.js';

/** Deterministic noise: every byte value occurs, neighbours differ, so any tap or rounding slip shows. */
function noise(width: number, height: number, seed: number, channels: 1 | 3 = 3): Uint8Array {
  const out = new Uint8Array(width * height * channels);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

function firstDifference(a: Uint8Array, b: Uint8Array): string | undefined {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} and ${b[i]}`;
  return undefined;
}

const resizer = new WasmPillowResizer();

describe('WasmPillowResizer', () => {
  const cases: Array<[string, number, number, number, number, ResizeWindow?]> = [
    ['camera photo to ViT', 640, 480, 384, 384],
    ['portrait to ViT', 480, 640, 384, 384],
    ['large photo to ViT (wide taps)', 2000, 1500, 384, 384],
    ['ALIGN resize with its center crop', 640, 480, 346, 346, { left: 28, top: 28, width: 289, height: 289 }],
    ['enlarging a thumbnail', 37, 23, 384, 384],
    ['a single pixel', 1, 1, 5, 3],
    ['shrinking to a single pixel', 9, 7, 1, 1],
    ['only the width changes', 50, 40, 33, 40],
    ['only the height changes', 50, 40, 50, 17],
    ['nothing changes but a window is taken', 31, 29, 31, 29, { left: 3, top: 5, width: 20, height: 11 }],
    ['row length not a multiple of 16', 123, 77, 61, 45, { left: 7, top: 1, width: 53, height: 40 }],
    ['mixed enlarge and shrink', 300, 20, 17, 290],
  ];
  for (const [name, w, h, outW, outH, window] of cases) {
    it(`gives the JavaScript reference's bytes: ${name} (${w}×${h} → ${outW}×${outH})`, () => {
      const rgb = noise(w, h, w * 31 + h);
      const expected = pillowBilinearResizeWindow(rgb, w, h, outW, outH, window);
      expect(firstDifference(resizer.resizeWindow(rgb, w, h, outW, outH, window), expected)).toBeUndefined();
    });
  }

  const lanczosCases: Array<[string, number, number, number, number, ResizeWindow?]> = [
    ['pHash of a camera photo', 1600, 1200, 32, 32],
    ['pHash of a thumbnail (enlarging)', 7, 5, 32, 32],
    ['taps not a multiple of four', 97, 61, 32, 32],
    ['only the width changes', 300, 32, 32, 32],
    ['only the height changes', 32, 300, 32, 32],
    ['a window', 123, 77, 61, 45, { left: 7, top: 1, width: 53, height: 40 }],
  ];
  for (const [name, w, h, outW, outH, window] of lanczosCases) {
    it(`gives the JavaScript reference's bytes for LANCZOS on L: ${name} (${w}×${h} → ${outW}×${outH})`, () => {
      const l = noise(w, h, w * 17 + h, 1);
      const options = { filter: LANCZOS, channels: 1 } as const;
      const expected = pillowResizeWindow(l, w, h, outW, outH, window, options);
      expect(expected.length).toBe((window?.width ?? outW) * (window?.height ?? outH));
      expect(firstDifference(resizer.resizeWindow(l, w, h, outW, outH, window, options), expected)).toBeUndefined();
    });
  }

  for (const [name, w, h, outW, outH, window] of lanczosCases) {
    it(`converts RGB to L and resizes it as rgbToL and the JavaScript reference do: ${name}`, () => {
      const rgb = noise(w, h, w * 13 + h);
      const expected = pillowResizeWindow(rgbToL({ data: rgb, width: w, height: h }), w, h, outW, outH, window, {
        filter: LANCZOS,
        channels: 1,
      });
      const view = resizer.resizeLumaWindowView(rgb, w, h, outW, outH, window, { filter: LANCZOS });
      expect(firstDifference(view.slice(), expected)).toBeUndefined();
    });
  }

  it('refuses an RGB buffer of the wrong length for a luma resize', () => {
    expect(() => resizer.resizeLumaWindowView(new Uint8Array(10), 2, 2, 4, 4)).toThrow(RangeError);
  });

  it('gives the JavaScript reference\'s bytes for LANCZOS on RGB', () => {
    const rgb = noise(211, 157, 9);
    const options = { filter: LANCZOS } as const;
    const expected = pillowResizeWindow(rgb, 211, 157, 32, 40, undefined, options);
    expect(firstDifference(resizer.resizeWindow(rgb, 211, 157, 32, 40, undefined, options), expected)).toBeUndefined();
  });

  it('gives the same bytes when one instance resizes images of different sizes in turn', () => {
    const sizes: Array<[number, number]> = [[640, 480], [17, 9], [1024, 700], [300, 301]];
    for (const [w, h] of [...sizes, ...sizes.reverse()]) {
      const rgb = noise(w, h, w ^ h);
      expect(firstDifference(resizer.resizeWindow(rgb, w, h, 384, 384), pillowBilinearResizeWindow(rgb, w, h, 384, 384))).toBeUndefined();
    }
  });

  it('answers with a copy the next call does not overwrite', () => {
    const a = resizer.resizeWindow(noise(40, 30, 1), 40, 30, 20, 20);
    const before = a.slice();
    resizer.resizeWindow(noise(40, 30, 2), 40, 30, 20, 20);
    expect(a).toEqual(before);
  });

  it('gives back the memory a large image needed on the next, smaller call', () => {
    const own = new WasmPillowResizer();
    const [w, h] = [4000, 3000]; // 36 MB of RGB: more than an idle resizer keeps
    own.resizeWindow(new Uint8Array(w * h * 3), w, h, 384, 384);
    expect(own.memoryBytes).toBeGreaterThan(RETAINED_MEMORY_BYTES);
    const rgb = noise(64, 48, 5);
    expect(firstDifference(own.resizeWindow(rgb, 64, 48, 384, 384), pillowBilinearResizeWindow(rgb, 64, 48, 384, 384))).toBeUndefined();
    expect(own.memoryBytes).toBeLessThanOrEqual(RETAINED_MEMORY_BYTES);
  });

  it('writes the resized pixels through a per-channel table as channels-first float32, the values of the reference', () => {
    // A table whose every entry differs (and is not an integer), so a wrong channel or level shows.
    const lut = Float32Array.from({ length: 3 * 256 }, (_, i) => Math.fround((i - 300) / 7.3));
    const cases: Array<[number, number, number, number, ResizeWindow?]> = [
      [640, 480, 384, 384],
      [333, 517, 384, 384],
      [640, 480, 346, 346, { left: 28, top: 28, width: 289, height: 289 }],
      [384, 384, 384, 384],
    ];
    for (const [w, h, outW, outH, window] of cases) {
      const rgb = noise(w, h, w * 31 + h);
      const bytes = pillowBilinearResizeWindow(rgb, w, h, outW, outH, window);
      const plane = bytes.length / 3;
      const expected = new Float32Array(3 * plane);
      for (let i = 0; i < plane; i++) {
        for (let c = 0; c < 3; c++) expected[c * plane + i] = lut[c * 256 + (bytes[3 * i + c] as number)] as number;
      }
      const into = new Float32Array(3 * plane).fill(Number.NaN);
      resizer.resizeToPlanar(rgb, w, h, outW, outH, window, lut, into);
      const differs = into.findIndex((v, i) => !Object.is(v, expected[i]));
      expect(differs, `first differing value of ${w}×${h} → ${outW}×${outH}`).toBe(-1);
    }
    expect(() => { resizer.resizeToPlanar(noise(8, 8, 1), 8, 8, 4, 4, undefined, lut, new Float32Array(47)); }).toThrow(RangeError);
    expect(() => { resizer.resizeToPlanar(noise(8, 8, 1), 8, 8, 4, 4, undefined, lut.subarray(1), new Float32Array(48)); }).toThrow(RangeError);
  });

  it('refuses what the reference refuses', () => {
    expect(() => resizer.resizeWindow(new Uint8Array(10), 2, 2, 4, 4)).toThrow(RangeError);
    expect(() => resizer.resizeWindow(noise(4, 4, 1), 4, 4, 8, 8, { left: 4, top: 0, width: 5, height: 8 })).toThrow(RangeError);
  });

  it('is what this runtime uses for pre-processing', () => {
    expect(threadResizer()).toBeInstanceOf(WasmPillowResizer);
  });
});
