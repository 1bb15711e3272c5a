import { formatContentDigest } from '@coyo/backend-protocol';
import { describe, expect, it } from 'vitest';
import { rejectionProblem, uniquePng } from '../../test/helpers';
import { ProblemError } from '../errors';
import { ClaimedImage, claimedImageOf, DIGEST_MISMATCH_DETAIL, streamedOf } from './claimed-image';
import { sha256Hex } from './encoding';
import type { IntakeImage } from './image-intake';

const MAX = 10_000;

/** A raw image request with `headers`, and a reader that counts its calls. */
async function setup(headers: Record<string, string>, bytes: Uint8Array<ArrayBuffer> = uniquePng()) {
  const request = new Request('https://edge.test/v1/classify', { method: 'POST', headers: { 'content-type': 'image/png', ...headers }, body: bytes });
  let reads = 0;
  const sha256 = await sha256Hex(bytes);
  const read = (): Promise<IntakeImage> => {
    reads += 1;
    return Promise.resolve({ bytes, type: 'image/png', sha256, dimensions: null });
  };
  return { request, read, reads: () => reads, sha256, bytes };
}

describe('claimedImageOf', () => {
  it('claims a body with a sha-256 Content-Digest and a declared length, unread', async () => {
    const bytes = uniquePng();
    const digest = formatContentDigest(await sha256Hex(bytes));
    const s = await setup({ 'content-digest': digest, 'content-length': String(bytes.byteLength) }, bytes);
    const claim = await claimedImageOf(s.request, MAX, s.read);
    expect(claim?.sha256).toBe(s.sha256);
    expect(claim?.length).toBe(bytes.byteLength);
    expect(claim?.contentType).toBe('image/png');
    expect(s.reads()).toBe(0);
  });

  it.each([
    ['no Content-Digest', {}],
    ['only other algorithms', { 'content-digest': `sha-512=:${btoa('x'.repeat(64))}:`, 'content-length': '200' }],
    ['no declared length', { 'content-digest': formatContentDigest('0'.repeat(64)) }],
    ['a Content-Encoding', { 'content-digest': formatContentDigest('0'.repeat(64)), 'content-length': '200', 'content-encoding': 'gzip' }],
    ['an empty body', { 'content-digest': formatContentDigest('0'.repeat(64)), 'content-length': '0' }],
  ])('leaves a body with %s to the buffered path', async (_name, headers: Record<string, string>) => {
    const s = await setup(headers);
    expect(await claimedImageOf(s.request, MAX, s.read)).toBeNull();
  });

  it('refuses a malformed Content-Digest with invalid_request', async () => {
    const s = await setup({ 'content-digest': 'sha-256=:AAAA:', 'content-length': '200' });
    expect((await rejectionProblem(claimedImageOf(s.request, MAX, s.read))).slug).toBe('invalid_request');
  });

  it('refuses a declared length over the cap with image_too_large', async () => {
    const s = await setup({ 'content-digest': formatContentDigest('0'.repeat(64)), 'content-length': String(MAX + 1) });
    expect((await rejectionProblem(claimedImageOf(s.request, MAX, s.read))).slug).toBe('image_too_large');
  });
});

describe('ClaimedImage', () => {
  function claimed(sha256: string, read: () => Promise<IntakeImage>) {
    return new ClaimedImage({ sha256, length: 200, contentType: 'image/png; charset=binary', body: new Blob([uniquePng()]).stream() as ReadableStream<Uint8Array>, read });
  }

  it('verifies once: the bytes are read and compared with the claim, then kept', async () => {
    const s = await setup({});
    const claim = claimed(s.sha256, s.read);
    const image = await claim.verify();
    expect(image.sha256).toBe(s.sha256);
    expect(await claim.verify()).toBe(image);
    expect(s.reads()).toBe(1);
    expect(claim.contentType).toBe('image/png');
    // Read, it is sent as bytes: no stream left to send.
    expect(streamedOf([claim])).toBeNull();
  });

  it('refuses bytes of another digest with digest_mismatch', async () => {
    const s = await setup({});
    const err = await rejectionProblem(claimed('f'.repeat(64), s.read).verify());
    expect(err.slug).toBe('digest_mismatch');
    expect(err.message).toBe(DIGEST_MISMATCH_DETAIL);
  });

  it('hands its stream out once; a second send or a verify after it is a retryable 503', async () => {
    const s = await setup({});
    const claim = claimed(s.sha256, s.read);
    expect(streamedOf([claim])).toBe(claim);
    claim.takeStream();
    expect(claim.sent).toBe(true);
    const again = (() => {
      try {
        claim.takeStream();
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(again).toBeInstanceOf(ProblemError);
    expect((again as ProblemError).slug).toBe('backend_unavailable');
    expect((again as ProblemError).headers['retry-after']).toBe('1');
    expect((await rejectionProblem(claim.verify())).slug).toBe('backend_unavailable');
    expect(s.reads()).toBe(0);
  });
});
