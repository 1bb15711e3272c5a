import { describe, expect, it } from 'vitest';
import { base64ToBytes } from './encoding';
import { imageDimensions } from './image-dimensions';
import type { SupportedImageType } from './image-sniff';

/** 37×23 images written by libvips (sharp), the decoder the backend uses, one per format and flavour. */
const FIXTURES: Record<string, { type: SupportedImageType; base64: string }> = {
  png: { type: 'image/png', base64: 'iVBORw0KGgoAAAANSUhEUgAAACUAAAAXCAIAAAADThHyAAAACXBIWXMAAAPoAAAD6AG1e1JrAAAANElEQVRIiWM4wSVHT8Qwah/XaHieGE0vcqP54cRo+SI3Wn5yjdYPcqP1Lddoe+LEYGgvAQApDR3+psuNOQAAAABJRU5ErkJggg==' },
  jpeg: { type: 'image/jpeg', base64: '/9j/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wAARCAAXACUDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAf/xAAUEAEAAAAAAAAAAAAAAAAAAAAA/8QAFgEBAQEAAAAAAAAAAAAAAAAAAAUH/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AmACM2oAAAAAAAAAB/9k=' },
  jpegProgressive: { type: 'image/jpeg', base64: '/9j/2wBDAAYEBQYFBAYGBQYHBwYIChAKCgkJChQODwwQFxQYGBcUFhYaHSUfGhsjHBYWICwgIyYnKSopGR8tMC0oMCUoKSj/2wBDAQcHBwoIChMKChMoGhYaKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCj/wgARCAAXACUDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAb/xAAWAQEBAQAAAAAAAAAAAAAAAAAABAb/2gAMAwEAAhADEAAAAZcRbUAAAAD/xAAUEAEAAAAAAAAAAAAAAAAAAAAw/9oACAEBAAEFAn//xAAUEQEAAAAAAAAAAAAAAAAAAAAg/9oACAEDAQE/AV//xAAUEQEAAAAAAAAAAAAAAAAAAAAg/9oACAECAQE/AV//xAAUEAEAAAAAAAAAAAAAAAAAAAAw/9oACAEBAAY/An//xAAUEAEAAAAAAAAAAAAAAAAAAAAw/9oACAEBAAE/IX//2gAMAwEAAgADAAAAEPvvvvvv/8QAFBEBAAAAAAAAAAAAAAAAAAAAIP/aAAgBAwEBPxBf/8QAFBEBAAAAAAAAAAAAAAAAAAAAIP/aAAgBAgEBPxBf/8QAFBABAAAAAAAAAAAAAAAAAAAAMP/aAAgBAQABPxB//9k=' },
  gif: { type: 'image/gif', base64: 'R0lGODlhJQAXAIAAAExpccgKHiH5BAUAAAAALAAAAAAlABcAAAIbjI+py+0Po5y02ouz3rz7D4biSJbmiabqyo4FADs=' },
  webpLossy: { type: 'image/webp', base64: 'UklGRkoAAABXRUJQVlA4ID4AAABQAwCdASolABcAPm02l0ikIyIhJWgAgA2JZwDQvoAAK/fDcAD+8ZWP9CbHtRX//cHH/ZwP+5wP3bb9Aa0AAA==' },
  webpLossless: { type: 'image/webp', base64: 'UklGRh4AAABXRUJQVlA4TBEAAAAvJIAFAAdQhSLXo/+BiOh/AAA=' },
  webpAlpha: { type: 'image/webp', base64: 'UklGRlgAAABXRUJQVlA4WAoAAAAQAAAAJAAAFgAAQUxQSAoAAAABB1DAiAhERP8DVlA4ICgAAADwAgCdASolABcAPm02l0ikIyIhJWgAgA2JaQAAKUNt8AD++3jAAAAA' },
  avif: { type: 'image/avif', base64: 'AAAAHGZ0eXBhdmlmAAAAAG1pZjFhdmlmbWlhZgAAANZtZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAAAAAAAAAAAAAAACJpbG9jAAAAAERAAAEAAQAAAAAA+gABAAAAAAAAACYAAAAjaWluZgAAAAAAAQAAABVpbmZlAgAAAAABAABhdjAxAAAAAA5waXRtAAAAAAABAAAAVmlwcnAAAAA4aXBjbwAAAAxhdjFDgSACAAAAABRpc3BlAAAAAAAAACUAAAAXAAAAEHBpeGkAAAAAAwgICAAAABZpcG1hAAAAAAAAAAEAAQOBAgMAAAAubWRhdBIACgk4FSSzSAhoNIAyFxlCYwTAADQAAKxQwBONk8cfUPWBy2nA' },
};

function bytes(base64: string | undefined): Uint8Array<ArrayBuffer> {
  const out = base64ToBytes(base64 ?? '');
  if (!out) throw new Error('test fixture: not base64');
  return out;
}

describe('imageDimensions', () => {
  for (const [name, { type, base64 }] of Object.entries(FIXTURES)) {
    it(`reads 37×23 from the header of a ${name} image`, () => {
      expect(imageDimensions(bytes(base64), type)).toEqual({ width: 37, height: 23 });
    });
  }

  it('reads the declared size of a PNG whose pixels would be huge, from 24 bytes', () => {
    const png = bytes(FIXTURES.png?.base64);
    const header = png.slice(0, 24);
    new DataView(header.buffer).setUint32(16, 20_000);
    new DataView(header.buffer).setUint32(20, 15_000);
    expect(imageDimensions(header, 'image/png')).toEqual({ width: 20_000, height: 15_000 });
  });

  it('answers null for a truncated header rather than guessing', () => {
    for (const [, { type, base64 }] of Object.entries(FIXTURES)) {
      expect(imageDimensions(bytes(base64).slice(0, 8), type)).toBeNull();
    }
  });

  it('answers null for a zero-sized PNG', () => {
    const png = bytes(FIXTURES.png?.base64).slice();
    new DataView(png.buffer).setUint32(16, 0);
    expect(imageDimensions(png, 'image/png')).toBeNull();
  });
});
