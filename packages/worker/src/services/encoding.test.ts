import { describe, expect, it } from 'vitest';
import { base64DecodedLength, base64MaxDecodedLength, base64ToBytes, bytesToBase64, bytesToFloat32, float32ToBytes, lenientBase64ToBytes, sha256Hex } from './encoding';

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

  it('decodes what the lenient decoder accepts, and refuses what it refuses', () => {
    const inputs = ['aGVsbG8=', 'aGVsbG8', 'aGVs\r\nbG8=', ' aGVs bG8= ', '-_8', '+/8', '+_8', 'QQ=', 'QQ==', 'QQ', '', 'a', 'abcde', 'aGVs*bG8=', 'aGVsbG8===', '=aGVs', 'aGVs\u00a0bG8='];
    for (const input of inputs) expect(base64ToBytes(input), JSON.stringify(input)).toEqual(lenientBase64ToBytes(input));
  });

  it('computes the decoded length without decoding', () => {
    expect(base64DecodedLength('aGVsbG8=')).toBe(5);
    expect(base64DecodedLength('aGVs\nbG8')).toBe(5);
    expect(base64MaxDecodedLength('aGVs\nbG8')).toBeGreaterThanOrEqual(5);
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
