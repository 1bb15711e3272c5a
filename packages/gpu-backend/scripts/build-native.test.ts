import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NATIVE_JPEG_ADDON, buildNativeJpeg, missingToolchain, nativeJpegBuildInfo } from './build-native.js';

describe('build-native', () => {
  it('builds the JPEG decoder once and then finds it up to date, recording how libjpeg is linked', () => {
    if (missingToolchain() !== null) {
      expect(buildNativeJpeg()).toMatchObject({ built: false, addon: null });
      return;
    }
    const first = buildNativeJpeg();
    expect(first.addon).toBe(NATIVE_JPEG_ADDON);
    const again = buildNativeJpeg();
    expect(again).toMatchObject({ built: false, addon: NATIVE_JPEG_ADDON });
    const info = nativeJpegBuildInfo();
    expect(info).not.toBeNull();
    if (info === null) return;
    expect(['static', 'dynamic']).toContain(info.linkage);
    // Dynamic linking names the shared libjpeg the device pack copies beside the addon.
    if (info.linkage === 'dynamic') expect(info.libjpeg !== null && existsSync(info.libjpeg)).toBe(true);
    else expect(info.libjpeg).toBeNull();
  });
});
