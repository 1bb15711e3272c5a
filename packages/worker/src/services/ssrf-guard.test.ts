import { describe, expect, it } from 'vitest';
import { routedFetch } from '../../test/helpers';
import { ProblemError } from '../errors';
import { checkFetchUrl, fetchImageUrl, forbiddenIPv4, parseIPv4, parseIPv6 } from './ssrf-guard';

describe('parseIPv4', () => {
  it.each([
    ['127.0.0.1', 0x7f000001],
    ['2130706433', 0x7f000001],
    ['0x7f.1', 0x7f000001],
    ['0177.0.0.1', 0x7f000001],
    ['127.1', 0x7f000001],
    ['0x7f000001', 0x7f000001],
    ['10.0.0.1.', 0x0a000001],
    ['0', 0],
  ])('reads %s as the address it denotes', (text, value) => {
    expect(parseIPv4(text)).toBe(value);
  });

  it.each(['example.com', '1.2.3.4.5', '256.1.1.1', '1.2.3.256', '08.1.1.1', '', '1..1'])('returns null for %s', (text) => {
    expect(parseIPv4(text)).toBeNull();
  });
});

describe('parseIPv6', () => {
  it('expands :: and an embedded IPv4 tail', () => {
    expect(parseIPv6('::ffff:127.0.0.1')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 0x0001]);
    expect(parseIPv6('2001:db8::1')).toEqual([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    expect(parseIPv6('::')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('refuses malformed text and zone ids', () => {
    expect(parseIPv6('1::2::3')).toBeNull();
    expect(parseIPv6('fe80::1%eth0')).toBeNull();
    expect(parseIPv6('12345::')).toBeNull();
    expect(parseIPv6('1:2:3:4:5:6:7:8:9')).toBeNull();
  });
});

describe('checkFetchUrl', () => {
  // Every spelling an attacker may use to reach something that is not a public web server.
  const hostile: [string, RegExp][] = [
    ['http://127.0.0.1/', /loopback/],
    ['http://localhost/', /local networks/],
    ['http://LOCALHOST./x', /local networks/],
    ['http://api.localhost/', /local networks/],
    ['http://printer.local/', /local networks/],
    ['http://metadata.google.internal/', /local networks/],
    ['http://intranet/', /single-label/],
    ['http://2130706433/', /loopback/],
    ['http://0x7f.1/', /loopback/],
    ['http://0177.0.0.1/', /loopback/],
    ['http://127.1/', /loopback/],
    ['http://0.0.0.0/', /this network/],
    ['http://10.1.2.3/', /private/],
    ['http://172.16.5.4/', /private/],
    ['http://192.168.1.1/', /private/],
    ['http://169.254.169.254/latest/meta-data/', /link-local/],
    ['http://100.64.0.1/', /carrier-grade NAT/],
    ['http://224.0.0.1/', /multicast/],
    ['http://255.255.255.255/', /reserved/],
    ['http://[::1]/', /loopback/],
    ['http://[::]/', /unspecified/],
    ['http://[::ffff:127.0.0.1]/', /IPv4-mapped/],
    ['http://[::ffff:7f00:1]/', /IPv4-mapped/],
    ['http://[::ffff:8.8.8.8]/', /IPv4-mapped/],
    ['http://[64:ff9b::10.0.0.1]/', /NAT64/],
    ['http://[fc00::1]/', /unique local/],
    ['http://[fd12:3456::1]/', /unique local/],
    ['http://[fe80::1]/', /link-local/],
    ['http://[ff02::1]/', /multicast/],
    ['http://[2002:7f00:1::]/', /6to4/],
    ['http://127.0.0.1.nip.io/', /embedded/],
    ['http://user:pass@example.com/', /credentials/],
    ['http://example.com:6379/', /port 6379/],
    ['http://example.com:22/', /port 22/],
    ['ftp://example.com/a.png', /scheme ftp/],
    ['file:///etc/passwd', /scheme file/],
    ['gopher://example.com/', /scheme gopher/],
    ['not a url', /not a valid URL/],
  ];

  it('has a table of at least 20 hostile URLs', () => {
    expect(hostile.length).toBeGreaterThanOrEqual(20);
  });

  it.each(hostile)('refuses %s', (url, reason) => {
    const check = checkFetchUrl(url);
    expect(check.allowed).toBe(false);
    if (!check.allowed) expect(check.reason).toMatch(reason);
  });

  it.each([
    'https://images.example.com/cat.jpg',
    'http://example.com:8080/a.png',
    'https://example.com:8443/a.png',
    'https://example.com:443/a.png',
    'http://93.184.216.34/a.png',
    'http://[2606:4700::6810:84e5]/a.png',
  ])('allows the public URL %s', (url) => {
    expect(checkFetchUrl(url).allowed).toBe(true);
  });

  it('judges a private address the same however the host is written', () => {
    expect(forbiddenIPv4(parseIPv4('0xa9.0xfe.0xa9.0xfe') ?? 0)).toMatch(/link-local/);
    expect(checkFetchUrl('http://0xa9fea9fe/').allowed).toBe(false);
    expect(checkFetchUrl('http://2852039166/').allowed).toBe(false);
  });
});

async function fetchProblem(url: string, options: { maxBytes?: number; timeoutMs?: number } = {}): Promise<ProblemError> {
  try {
    await fetchImageUrl(url, { fetch: routedFetch, maxBytes: options.maxBytes ?? 1_000_000, timeoutMs: options.timeoutMs ?? 5000 });
  } catch (err) {
    if (err instanceof ProblemError) return err;
    throw err;
  }
  throw new Error('expected the fetch to fail');
}

describe('fetchImageUrl', () => {
  it('fetches a public image', async () => {
    const { bytes, finalUrl } = await fetchImageUrl('https://images.example.com/png/a', { fetch: routedFetch, maxBytes: 10_000, timeoutMs: 5000 });
    expect(bytes[0]).toBe(0x89);
    expect(finalUrl).toBe('https://images.example.com/png/a');
  });

  it('follows up to three redirects, re-checking each', async () => {
    const { bytes, finalUrl } = await fetchImageUrl('https://images.example.com/chain/3', { fetch: routedFetch, maxBytes: 10_000, timeoutMs: 5000 });
    expect(bytes.byteLength).toBeGreaterThan(0);
    expect(finalUrl).toBe('https://images.example.com/chain/0');
  });

  it('fails on a fourth redirect', async () => {
    const err = await fetchProblem('https://images.example.com/chain/4');
    expect(err.slug).toBe('image_fetch_failed');
    expect(err.message).toMatch(/more than 3 redirects/);
  });

  it.each([
    'http://127.0.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::ffff:10.0.0.1]/',
    'http://localhost:8080/',
    'http://0x7f.1/',
  ])('refuses a redirect to %s', async (target) => {
    const err = await fetchProblem(`https://images.example.com/redirect?to=${encodeURIComponent(target)}`);
    expect(err.slug).toBe('image_url_not_allowed');
    expect(err.message).toMatch(/redirect to/);
  });

  it('turns an upstream 404 into image_fetch_failed', async () => {
    const err = await fetchProblem('https://images.example.com/status/404');
    expect(err.slug).toBe('image_fetch_failed');
    expect(err.status).toBe(422);
    expect(err.message).toMatch(/404/);
  });

  it('cuts off a body that streams past the limit', async () => {
    const err = await fetchProblem('https://images.example.com/big?bytes=300000', { maxBytes: 100_000 });
    expect(err.slug).toBe('image_too_large');
  });

  it('refuses a declared Content-Length past the limit before reading', async () => {
    const err = await fetchProblem('https://images.example.com/big?bytes=300000&declare=1', { maxBytes: 100_000 });
    expect(err.slug).toBe('image_too_large');
    expect(err.message).toMatch(/300000/);
  });

  it('gives up on a host that never finishes the body', async () => {
    const err = await fetchProblem('https://images.example.com/hang', { timeoutMs: 300 });
    expect(err.slug).toBe('image_fetch_failed');
    expect(err.message).toMatch(/timed out/);
  });
});
