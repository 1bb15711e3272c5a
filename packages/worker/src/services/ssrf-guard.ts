/**
 * Guards the one place the edge fetches a URL a client chose: image URLs. The worker cannot resolve
 * DNS before connecting, so the guard refuses everything it can judge from the URL itself (schemes,
 * credentials, ports, IP literals in every spelling, local names, wildcard-DNS names that embed an
 * address) and re-checks every redirect hop; Cloudflare's edge does not route to private networks,
 * which covers public names that resolve to private addresses.
 *
 * Port policy: only the default ports and 80, 443, 8080, 8443. These are the HTTP(S) ports public
 * image hosts use; anything else (6379, 9200, 2375, …) is far more likely an internal service.
 */
import { ProblemError } from '../errors';
import { readCapped } from './read-capped';

/** Ports a URL may name explicitly; a URL without a port uses the scheme's default. */
export const ALLOWED_PORTS: ReadonlySet<number> = new Set([80, 443, 8080, 8443]);

/** Redirect hops followed, each re-checked; a fourth redirect fails the fetch. */
export const MAX_REDIRECTS = 3;

/** Name suffixes that only resolve inside private networks (RFC 6761, 6762, 8375 and common use). */
const LOCAL_SUFFIXES = ['localhost', 'local', 'internal', 'localdomain', 'home.arpa', 'lan', 'intranet', 'private', 'corp', 'arpa'];

/** Public wildcard-DNS services that resolve names like `127.0.0.1.nip.io` to the embedded address. */
const WILDCARD_DNS_SUFFIXES = ['nip.io', 'sslip.io', 'xip.io', 'traefik.me', 'localtest.me', 'lvh.me', 'vcap.me'];

/**
 * Parses an IPv4 address the way the WHATWG URL parser does: 1 to 4 parts, each decimal, octal
 * (leading 0) or hex (0x), the last part filling the remaining bytes (`2130706433`, `0x7f.1`,
 * `0177.0.0.1`). Returns the address as an unsigned 32-bit number, or null if it is not one.
 */
export function parseIPv4(host: string): number | null {
  const parts = host.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return null;
  const values: number[] = [];
  for (const part of parts) {
    if (part === '') return null;
    let value: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(part)) value = part.length === 2 ? 0 : parseInt(part.slice(2), 16);
    else if (/^0[0-7]+$/.test(part)) value = parseInt(part.slice(1), 8);
    else if (/^(0|[1-9][0-9]*)$/.test(part)) value = parseInt(part, 10);
    else return null;
    if (!Number.isFinite(value)) return null;
    values.push(value);
  }
  const last = values.pop() ?? 0;
  if (values.some((v) => v > 255)) return null;
  if (last >= 256 ** (4 - values.length)) return null;
  let address = last;
  values.forEach((v, i) => {
    address += v * 256 ** (3 - i);
  });
  return address >>> 0;
}

/** Parses an IPv6 address (no brackets, no zone) into its eight 16-bit groups, or null. */
export function parseIPv6(input: string): number[] | null {
  if (input.includes('%')) return null;
  let text = input.toLowerCase();
  const lastColon = text.lastIndexOf(':');
  if (lastColon === -1) return null;
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(tail)) return null;
    const v4 = parseIPv4(tail);
    if (v4 === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const groups = s.split(':');
    if (groups.some((g) => !/^[0-9a-f]{1,4}$/.test(g))) return null;
    return groups.map((g) => parseInt(g, 16));
  };
  const head = parseGroups(halves[0] ?? '');
  if (head === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const rest = parseGroups(halves[1] ?? '');
  if (rest === null || head.length + rest.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

const IPV4_BLOCKS: readonly [string, number, string][] = [
  ['0.0.0.0', 8, '"this network" address'],
  ['10.0.0.0', 8, 'private address'],
  ['100.64.0.0', 10, 'carrier-grade NAT address'],
  ['127.0.0.0', 8, 'loopback address'],
  ['169.254.0.0', 16, 'link-local address'],
  ['172.16.0.0', 12, 'private address'],
  ['192.0.0.0', 24, 'IETF protocol assignment'],
  ['192.0.2.0', 24, 'documentation address'],
  ['192.88.99.0', 24, '6to4 relay address'],
  ['192.168.0.0', 16, 'private address'],
  ['198.18.0.0', 15, 'benchmarking address'],
  ['198.51.100.0', 24, 'documentation address'],
  ['203.0.113.0', 24, 'documentation address'],
  ['224.0.0.0', 4, 'multicast address'],
  ['240.0.0.0', 4, 'reserved address'],
];

const IPV4_RANGES = IPV4_BLOCKS.map(([base, bits, reason]) => {
  const start = parseIPv4(base);
  if (start === null) throw new Error(`bug: bad IPv4 block ${base}`);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { start, mask, reason };
});

/** Why an IPv4 address must not be fetched, or null when it is a public unicast address. */
export function forbiddenIPv4(address: number): string | null {
  for (const { start, mask, reason } of IPV4_RANGES) {
    if (((address & mask) >>> 0) === start) return reason;
  }
  return null;
}

/** Why an IPv6 address must not be fetched, or null when it is a public global unicast address. */
export function forbiddenIPv6(g: readonly number[]): string | null {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return 'unspecified address';
  if (zeroUpTo(7) && g7 === 1) return 'loopback address';
  if (zeroUpTo(5) && g5 === 0xffff) return `IPv4-mapped address (${g6 >> 8}.${g6 & 255}.${g7 >> 8}.${g7 & 255})`;
  if (zeroUpTo(4) && g4 === 0xffff && g5 === 0) return 'IPv4-translated address';
  if (zeroUpTo(6)) return 'IPv4-compatible address';
  if (g0 === 0x64 && g1 === 0xff9b && (g2 === 1 || (g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0))) return 'NAT64 address';
  if ((g0 & 0xfe00) === 0xfc00) return 'unique local address';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local address';
  if ((g0 & 0xffc0) === 0xfec0) return 'site-local address';
  if ((g0 & 0xff00) === 0xff00) return 'multicast address';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'documentation address';
  if (g0 === 0x2001 && g1 === 0) return 'Teredo address';
  if (g0 === 0x2001 && ((g1 & 0xfff0) === 0x10 || (g1 & 0xfff0) === 0x20)) return 'ORCHID address';
  if (g0 === 0x2002) return '6to4 address';
  if ((g0 & 0xe000) !== 0x2000) return 'address outside global unicast space';
  return null;
}

function formatIPv4(address: number): string {
  return [address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255].join('.');
}

/** Why a host name (not an IP literal) must not be fetched, or null. */
function forbiddenName(host: string): string | null {
  if (host === '') return 'empty host';
  if (!host.includes('.')) return 'single-label host names resolve only on local networks';
  for (const suffix of LOCAL_SUFFIXES) {
    if (host === suffix || host.endsWith(`.${suffix}`)) return `".${suffix}" names resolve only on local networks`;
  }
  for (const suffix of WILDCARD_DNS_SUFFIXES) {
    if (host === suffix || host.endsWith(`.${suffix}`)) return `${suffix} names resolve to addresses embedded in the name`;
  }
  return null;
}

/** The outcome of checking one URL. */
export type UrlCheck = { allowed: true; url: URL } | { allowed: false; reason: string };

/**
 * Decides whether the edge may fetch `input`. Runs on the parsed URL, so every spelling the URL
 * parser accepts (`http://2130706433/`, `http://0x7f.1/`, `http://[::ffff:127.0.0.1]/`) is judged
 * by the address it denotes; the host is parsed again here so the decision never depends on how a
 * given runtime normalises it.
 */
export function checkFetchUrl(input: string | URL): UrlCheck {
  let url: URL;
  try {
    url = typeof input === 'string' ? new URL(input) : input;
  } catch {
    return { allowed: false, reason: 'not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { allowed: false, reason: `scheme ${url.protocol} is not allowed; use http or https` };
  if (url.username !== '' || url.password !== '') return { allowed: false, reason: 'URLs with credentials are not allowed' };
  if (url.port !== '' && !ALLOWED_PORTS.has(Number(url.port))) {
    return { allowed: false, reason: `port ${url.port} is not allowed; use 80, 443, 8080 or 8443` };
  }
  const host = url.hostname.toLowerCase().replace(/\.+$/, '');
  if (host.startsWith('[')) {
    const groups = parseIPv6(host.slice(1, -1));
    if (groups === null) return { allowed: false, reason: 'malformed IPv6 address' };
    const reason = forbiddenIPv6(groups);
    return reason === null ? { allowed: true, url } : { allowed: false, reason: `${host} is a ${reason}` };
  }
  const v4 = parseIPv4(host);
  if (v4 !== null) {
    const reason = forbiddenIPv4(v4);
    return reason === null ? { allowed: true, url } : { allowed: false, reason: `${formatIPv4(v4)} is a ${reason}` };
  }
  if (/^[0-9.]+$/.test(host) || /(^|\.)0x[0-9a-f]*$/.test(host)) return { allowed: false, reason: 'malformed IPv4 address' };
  const reason = forbiddenName(host);
  return reason === null ? { allowed: true, url } : { allowed: false, reason: `${host}: ${reason}` };
}

export interface FetchImageOptions {
  /** The fetch to use; injected so tests can route a public test host to a local server. */
  fetch: typeof fetch;
  /** Largest body accepted; larger bodies are cut off while streaming (413). */
  maxBytes: number;
  /** Time budget for all hops and the body, in milliseconds. */
  timeoutMs: number;
  /** Field path of the URL in the request, named in errors (e.g. `images[1].url`). */
  field?: string;
}

/** Bytes fetched from an image URL, and where the last redirect led. */
export interface FetchedImage {
  bytes: Uint8Array<ArrayBuffer>;
  finalUrl: string;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

function notAllowed(reason: string, field: string | undefined): ProblemError {
  return new ProblemError('image_url_not_allowed', `image URL not allowed: ${reason}`, {
    errors: field ? [{ in: 'body', path: field, message: reason }] : undefined,
  });
}

function fetchFailed(detail: string): ProblemError {
  return new ProblemError('image_fetch_failed', detail);
}


/**
 * Fetches an image URL under the guard: each hop checked, at most {@link MAX_REDIRECTS} redirects
 * followed by hand, one time budget for everything, the body cut off past `maxBytes`. Upstream
 * errors become `image_fetch_failed` (422) problems.
 */
export async function fetchImageUrl(input: string, options: FetchImageOptions): Promise<FetchedImage> {
  const { fetch: doFetch, maxBytes, timeoutMs, field } = options;
  const controller = new AbortController();
  const timer = setTimeout(() => { controller.abort(new Error('image fetch timed out')); }, timeoutMs);
  try {
    let current = input;
    for (let hop = 0; ; hop++) {
      const check = checkFetchUrl(current);
      if (!check.allowed) throw notAllowed(hop === 0 ? check.reason : `redirect to ${check.reason}`, field);
      let response: Response;
      try {
        response = await doFetch(check.url.href, {
          method: 'GET',
          redirect: 'manual',
          signal: controller.signal,
          headers: { accept: 'image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9,*/*;q=0.1', 'user-agent': 'coyo-edge-image-fetch/1.0' },
        });
      } catch (err) {
        if (controller.signal.aborted) throw fetchFailed(`fetching ${check.url.host} timed out after ${timeoutMs} ms`);
        throw fetchFailed(`could not connect to ${check.url.host}: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (REDIRECT_STATUSES.has(response.status)) {
        await response.body?.cancel();
        const location = response.headers.get('location');
        if (location === null) throw fetchFailed(`${check.url.host} answered ${response.status} without a Location`);
        if (hop >= MAX_REDIRECTS) throw fetchFailed(`more than ${MAX_REDIRECTS} redirects`);
        try {
          current = new URL(location, check.url).href;
        } catch {
          throw fetchFailed(`${check.url.host} redirected to an invalid URL`);
        }
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw fetchFailed(`${check.url.host} answered ${response.status} for the image URL`);
      }
      try {
        const bytes = await readCapped(response, maxBytes, controller.signal);
        return { bytes, finalUrl: check.url.href };
      } catch (err) {
        if (err instanceof ProblemError) throw err;
        if (controller.signal.aborted) throw fetchFailed(`fetching ${check.url.host} timed out after ${timeoutMs} ms`);
        throw fetchFailed(`reading the image from ${check.url.host} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    clearTimeout(timer);
  }
}
