import { describe, expect, it } from 'vitest';
import { routedFetch, toBase64, uniquePng, rejectionProblem } from '../../test/helpers';
import { sha256Hex } from './encoding';
import { ImageBudget, intakeImageInput, parseDataUrl } from './image-intake';

const options = { maxImageBytes: 1000, fetch: routedFetch, fetchTimeoutMs: 5000 };

describe('image intake', () => {
  it('parses data URLs', () => {
    expect(parseDataUrl('data:image/png;base64,AAAA')).toEqual({ mediaType: 'image/png', base64: true, data: 'AAAA' });
    expect(parseDataUrl('data:,hello')).toEqual({ mediaType: '', base64: false, data: 'hello' });
    expect(parseDataUrl('https://x')).toBeNull();
    expect(parseDataUrl('  DATA:Image/PNG;Base64,AAAA \n')).toEqual({ mediaType: 'image/png', base64: true, data: 'AAAA' });
    expect(parseDataUrl('data:image/png;base64')).toBeNull();
    expect(parseDataUrl('https://x/?data:y')).toBeNull();
  });

  it('accepts base64, a data URL in either field, and keys by SHA-256 of the bytes', async () => {
    const png = uniquePng();
    const b64 = toBase64(png);
    const sha = await sha256Hex(png);
    for (const input of [{ base64: b64 }, { base64: `data:image/png;base64,${b64}` }, { url: `data:image/png;base64,${b64}` }]) {
      const image = await intakeImageInput(input, options, new ImageBudget(10_000), 'image');
      expect(image).toMatchObject({ type: 'image/png', sha256: sha });
      expect(image.bytes).toEqual(png);
    }
  });

  it('fetches URL images through the guard', async () => {
    const image = await intakeImageInput({ url: 'https://images.example.com/png/x' }, options, new ImageBudget(10_000), 'image');
    expect(image.type).toBe('image/png');
  });

  it('refuses oversize base64 before decoding it', async () => {
    const err = await rejectionProblem(intakeImageInput({ base64: 'A'.repeat(4000) }, options, new ImageBudget(10_000), 'images[1]'));
    expect(err.slug).toBe('image_too_large');
    expect(err.message).toMatch(/images\[1\]/);
  });

  it('names the field of invalid base64', async () => {
    const err = await rejectionProblem(intakeImageInput({ base64: '!!!' }, options, new ImageBudget(10_000), 'images[2]'));
    expect(err.slug).toBe('validation_failed');
    expect(err.errors).toEqual([{ in: 'body', path: 'images[2].base64', message: 'not valid base64' }]);
  });

  it('refuses bytes that are not a supported image with 415', async () => {
    const err = await rejectionProblem(intakeImageInput({ base64: toBase64(new TextEncoder().encode('plain text')) }, options, new ImageBudget(10_000), 'image'));
    expect(err.status).toBe(415);
  });

  it('refuses non-base64 data URLs', async () => {
    const err = await rejectionProblem(intakeImageInput({ url: 'data:image/png,abc' }, options, new ImageBudget(10_000), 'image'));
    expect(err.errors?.[0]?.path).toBe('image.url');
  });

  it('charges every image to the request budget', async () => {
    const budget = new ImageBudget(300);
    await intakeImageInput({ base64: toBase64(uniquePng(200)) }, options, budget, 'images[0]');
    const err = await rejectionProblem(intakeImageInput({ base64: toBase64(uniquePng(200)) }, options, budget, 'images[1]'));
    expect(err.slug).toBe('payload_too_large');
  });
});
