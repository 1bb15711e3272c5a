import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { YoungCollector } from './young-collector.js';

/** Decodes a 512×512 PNG to raw RGB: sharp returns it as an external Buffer (768 KiB of external memory). */
async function decodedImage(): Promise<number> {
  const png = await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 10, g: 200, b: 30 } } }).png().toBuffer();
  const raw = await sharp(png).raw().toBuffer();
  return raw.byteLength;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('YoungCollector', () => {
  it('has V8 scavenges to call on Node', () => {
    expect(new YoungCollector().available).toBe(true);
  });

  it('scavenges once per budget of tracked bytes, not before', () => {
    const young = new YoungCollector(1000);
    young.track(600);
    expect(young.collections).toBe(0);
    young.track(400);
    expect(young.collections).toBe(1);
    young.track(999);
    expect(young.collections).toBe(1);
    young.track(1);
    expect(young.collections).toBe(2);
  });

  it('frees the external memory of unreachable decoded images within two budgets', async () => {
    const young = new YoungCollector(8 * 1024 * 1024);
    young.track(8 * 1024 * 1024); // start from a scavenged young generation
    await nextTurn();
    const before = process.memoryUsage().external;
    let bytes = 0;
    for (let i = 0; i < 8; i++) bytes += await decodedImage();
    const held = process.memoryUsage().external;
    expect(held - before).toBeGreaterThanOrEqual(bytes * 0.9);
    // V8 sweeps a scavenge's dead array buffers after it: their memory is released by the next one.
    for (let i = 0; i < 2; i++) {
      young.track(8 * 1024 * 1024);
      await nextTurn();
    }
    expect(process.memoryUsage().external - before).toBeLessThan(bytes / 2);
  });

  it('refuses a budget that is not a positive integer', () => {
    expect(() => new YoungCollector(0)).toThrow(RangeError);
    expect(() => new YoungCollector(1.5)).toThrow(RangeError);
  });
});
