/**
 * Runs inside a network namespace made by egress.test.ts (`unshare -rnm`): loopback up, 10.0.0.1 and
 * 93.184.215.14 on it, and a hosts file mapping `evil.test` → 127.0.0.1, `private.test` → 10.0.0.1,
 * `img.public.test` → 93.184.215.14. One HTTP server on port 8080 answers for every name and records
 * the Host of each request. The real worker asks for image URLs by those names, with and without the
 * public-only egress binding; the outcome of each case is printed as one JSON line on stdout.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedApiKey, startWorker } from '../harness/stack';

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

export interface ProbeCase {
  name: string;
  egress: boolean;
  url: string;
  status: number;
  contentType: string | null;
  problemType: string | null;
  /** The Host headers the image server saw for this case, in order. */
  hosts: string[];
}

const hosts: string[] = [];
const server = createServer((req, res) => {
  hosts.push(req.headers.host ?? '');
  const url = new URL(req.url ?? '/', 'http://x');
  const to = url.searchParams.get('to');
  if (url.pathname === '/redirect' && to !== null) res.writeHead(302, { location: to }).end();
  else res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
});
await new Promise<void>((resolve) => server.listen(8080, '0.0.0.0', resolve));

const persistDir = mkdtempSync(join(tmpdir(), 'coyo-egress-'));
const { key } = await seedApiKey(join(persistDir, 'v3'), { scopes: ['inference'] });
const cases: [string, boolean, string][] = [
  ['public name', true, 'http://img.public.test:8080/cat.png'],
  ['name resolving to loopback', true, 'http://evil.test:8080/cat.png'],
  ['name resolving to a private address', true, 'http://private.test:8080/cat.png'],
  ['redirect to a name resolving to loopback', true, 'http://img.public.test:8080/redirect?to=http://evil.test:8080/cat.png'],
  ['name resolving to loopback, global fetch', false, 'http://evil.test:8080/cat.png'],
];
const results: ProbeCase[] = [];
try {
  for (const egress of [true, false]) {
    // The backend is never reached for a refused image; for an admitted one its absence is a 503.
    const worker = await startWorker({ backendUrl: 'http://127.0.0.1:9', backendToken: 'unused', persistDir, publicEgress: egress });
    try {
      for (const [name, withEgress, url] of cases) {
        if (withEgress !== egress) continue;
        const seen = hosts.length;
        const res = await fetch(`${worker.url}/v1/classify`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ image: { url } }),
        });
        const body = (await res.json()) as { type?: unknown };
        results.push({
          name,
          egress,
          url,
          status: res.status,
          contentType: res.headers.get('content-type'),
          problemType: typeof body.type === 'string' ? body.type : null,
          hosts: hosts.slice(seen),
        });
      }
    } finally {
      await worker.stop();
    }
  }
} finally {
  server.close();
  rmSync(persistDir, { recursive: true, force: true });
}
for (const result of results) console.log(JSON.stringify(result));
