import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawHttpClient } from './raw-http.js';

let server: Server;
let url: string;
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (req.url === '/chunked') {
        // writeHead then several writes: chunked framing.
        res.writeHead(201, { 'x-queue-time': '1.5' });
        res.write('ab');
        res.write('cdé');
        res.end();
      } else if (req.url === '/slow') {
        setTimeout(() => res.end('late'), 5_000).unref();
      } else {
        res.setHeader('x-inference-time', '2');
        res.end(`${req.method} ${req.url ?? ''} ${body}`);
      }
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('RawHttpClient', () => {
  it('reads length-framed and chunked answers, and reuses one connection for requests in turn', async () => {
    const client = new RawHttpClient(url, ['x-queue-time', 'x-inference-time']);
    const before = connections;
    const a = await client.send({ method: 'POST', path: '/echo', headers: { 'content-type': 'text/plain' }, body: 'héllo' }, AbortSignal.timeout(5000));
    expect(a).toMatchObject({ status: 200, headers: { 'x-inference-time': '2' } });
    expect(a.body.toString('utf8')).toBe('POST /echo héllo');
    const b = await client.send({ method: 'GET', path: '/chunked', headers: {} }, AbortSignal.timeout(5000));
    expect(b).toMatchObject({ status: 201, headers: { 'x-queue-time': '1.5' } });
    expect(b.body.toString('utf8')).toBe('abcdé');
    const bytes = client.encode({ method: 'POST', path: '/again', headers: {}, body: new Uint8Array([0x61]) });
    expect((await client.send(bytes, AbortSignal.timeout(5000))).body.toString()).toBe('POST /again a');
    expect(connections - before).toBe(1);
    client.close();
  });

  it('opens a connection per request in flight', async () => {
    const client = new RawHttpClient(url);
    const before = connections;
    const answers = await Promise.all([1, 2, 3].map((i) => client.send({ method: 'POST', path: `/${i}`, headers: {}, body: '' }, AbortSignal.timeout(5000))));
    expect(answers.map((r) => r.body.toString())).toEqual(['POST /1 ', 'POST /2 ', 'POST /3 ']);
    expect(connections - before).toBe(3);
    client.close();
  });

  it('rejects an aborted request and does not reuse its connection', async () => {
    const client = new RawHttpClient(url);
    const controller = new AbortController();
    const slow = client.send({ method: 'GET', path: '/slow', headers: {} }, controller.signal);
    controller.abort(new Error('run over'));
    await expect(slow).rejects.toThrow('run over');
    const after = await client.send({ method: 'GET', path: '/ok', headers: {} }, AbortSignal.timeout(5000));
    expect(after.body.toString()).toBe('GET /ok ');
    client.close();
  });
});
