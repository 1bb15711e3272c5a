import { describe, expect, it } from 'vitest';
import { base64DecodedLength, base64ToBytes, bytesToBase64, bytesToFloat32, float32ToBytes, sha256Hex } from './encoding';

describe('encoding', () => {
  it('computes SHA-256 as lower-case hex', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('round-trips bytes through base64, including inputs larger than one chunk', () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 31) & 255);
    expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
  });

  it('reads URL-safe base64 without padding and with line breaks', () => {
    expect(base64ToBytes('-_8')).toEqual(new Uint8Array([0xfb, 0xff]));
    expect(base64ToBytes('aGVs\nbG8=')).toEqual(new TextEncoder().encode('hello'));
  });

  it('returns null for text that is not base64', () => {
    expect(base64ToBytes('not base64!')).toBeNull();
    expect(base64ToBytes('abcde')).toBeNull();
  });

  it('computes the decoded length without decoding', () => {
    expect(base64DecodedLength('aGVsbG8=')).toBe(5);
    expect(base64DecodedLength('aGVs\nbG8')).toBe(5);
  });

  it('writes float32 little-endian whatever the platform', () => {
    const bytes = float32ToBytes([1, -2.5]);
    expect(Array.from(bytes)).toEqual([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0]);
    expect(Array.from(bytesToFloat32(bytes))).toEqual([1, -2.5]);
  });

  it('refuses float32 data that is not a multiple of 4 bytes', () => {
    expect(() => bytesToFloat32(new Uint8Array(6))).toThrow(RangeError);
  });
});
