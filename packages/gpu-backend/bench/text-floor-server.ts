/**
 * The floor a text request is measured against: a bare Node HTTP server (node:http, no framework, no
 * model) that reads the same `POST /v1/embed/text` JSON body the backend reads, checks it is
 * `{ texts: string[] }`, and answers the backend's shape: one 640-float embedding per text (ALIGN's
 * projection size), `model`, `revision`, `dim` and `tokens`. The vector is encoded once at start, so
 * what this process spends per request is HTTP, JSON parse and JSON stringify of the answer: the cost
 * of the wire alone, which no server answering this protocol can go below.
 *
 * Environment: FLOOR_PORT (required). Routes: GET /readyz, POST /v1/embed/text.
 */
import { createServer } from 'node:http';
import { z } from 'zod';
import { readBody } from './read-body.js';

const { FLOOR_PORT } = z.object({ FLOOR_PORT: z.coerce.number().int().min(1).max(65535) }).parse(process.env);
const DIM = 640;
const MAX_BODY_BYTES = 4 * 1024 * 1024;
const vector = Array.from({ length: DIM }, (_, i) => Number(Math.fround(Math.sin(i) / 25).toPrecision(9)));

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/readyz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/embed/text') {
    res.writeHead(404).end();
    return;
  }
  void readBody(req, MAX_BODY_BYTES).then(
    (body) => {
      const json: unknown = JSON.parse(body.toString('utf8'));
      const texts = (json as { texts?: unknown }).texts;
      if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) {
        res.writeHead(400).end();
        return;
      }
      const answer = {
        model: 'align-base',
        revision: '0123456789abcdef',
        dim: DIM,
        embeddings: texts.map(() => vector),
        tokens: texts.map((t: string) => Math.min(64, t.split(' ').length + 2)),
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    },
    () => {
      if (!res.headersSent) res.writeHead(400).end();
    },
  );
});

server.listen(FLOOR_PORT, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
