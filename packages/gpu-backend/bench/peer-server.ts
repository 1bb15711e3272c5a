/**
 * The peer the backend is measured against: a straightforward image-classification server built the way
 * a transformers.js user would build one. Per request it decodes the image, runs the
 * `@huggingface/transformers` image-classification pipeline (its own pre-processing, then
 * `session.run` with batch 1 on the main thread) over the same ONNX folder, and answers top-k.
 *
 * Environment: PEER_PORT (required), MODELS_DIR (the folder holding vit-large-patch16-384/), PEER_DEVICE
 * (`cpu`, the default, or `cuda`).
 * Routes: GET /readyz (200 once the pipeline is loaded), POST /v1/classify?top_k=5 (raw image body).
 * The only concession to benchmarking: a request whose client has gone is skipped, so one measurement does
 * not spill its abandoned work into the next.
 */
import { createServer, type ServerResponse } from 'node:http';
import { env, pipeline, RawImage, type ImageClassificationPipeline } from '@huggingface/transformers';
import { z } from 'zod';
import { readBody } from './read-body.js';

const EnvSchema = z.object({
  PEER_PORT: z.coerce.number().int().min(1).max(65535),
  MODELS_DIR: z.string().min(1),
  PEER_DEVICE: z.enum(['cpu', 'cuda']).default('cpu'),
});
const MAX_BODY_BYTES = 20 * 1024 * 1024;
const MODEL_ID = 'vit-large-patch16-384';

const config = EnvSchema.parse(process.env);
env.allowRemoteModels = false;
env.localModelPath = config.MODELS_DIR;

let classify: ImageClassificationPipeline | undefined;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://peer');
  if (req.method === 'GET' && url.pathname === '/readyz') { send(res, classify ? 200 : 503, { ready: Boolean(classify) }); return; }
  if (req.method !== 'POST' || url.pathname !== '/v1/classify') { send(res, 404, { error: 'not found' }); return; }
  if (!classify) { send(res, 503, { error: 'loading' }); return; }
  const model = classify;
  const topK = Number(url.searchParams.get('top_k') ?? '5');
  void (async () => {
    try {
      const image = await RawImage.fromBlob(new Blob([await readBody(req, MAX_BODY_BYTES)]));
      if (res.destroyed) return;
      const predictions = await model(image, { top_k: topK });
      send(res, 200, { model: MODEL_ID, predictions: [predictions] });
    } catch (error) {
      if (!res.destroyed) send(res, 400, { error: error instanceof Error ? error.message : String(error) });
    }
  })();
});

server.listen(config.PEER_PORT, '127.0.0.1', () => {
  void pipeline('image-classification', MODEL_ID, { dtype: 'fp32', device: config.PEER_DEVICE }).then(
    (p) => {
      classify = p;
    },
    (error: unknown) => {
      console.error('peer: could not load the pipeline', error);
      process.exit(1);
    },
  );
});

process.on('SIGTERM', () => server.close(() => process.exit(0)));
