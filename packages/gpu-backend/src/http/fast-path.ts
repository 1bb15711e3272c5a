/**
 * The inference routes served straight from Node's request and response, without the `Request`,
 * `Response`, context and middleware chain the Hono app builds around every request: on a text request
 * those cost about as much CPU as the rest of the request together. `POST /v1/embed/text`,
 * `POST /v1/classify` (with `?top_k=<digits>` or no query) and `POST /v1/embed/image` with a raw image
 * body are answered here. Everything a caller can observe is the app's, from the same functions: request
 * id, bearer check, readiness and deadline, permit before the body, body limits and validation, a raw
 * image's `content-digest` check, answer headers and body, problem documents, 499 for a client that left, the `requests` counter, stage times and
 * the log line. `fast-path.test.ts` holds the two paths to the same answers. Every other request
 * (multipart image bodies, other queries, other routes) goes to Hono.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HEADERS, ROUTES, acceptsBinaryEmbeddings } from '@coyo/backend-protocol';
import type { AppDeps } from './app.js';
import type { Answered, Engine, RequestPermit, TextEmbeddings, WorkOptions } from '../batching/engine.js';
import type { Sha256Claim } from '../backend/sha256-claim.js';
import {
  classifyAnswer,
  claimedSha256,
  embeddingsAnswer,
  errorAnswer,
  parseDeadlineMs,
  parseTopK,
  withVerifiedSha256,
  type AnswerParts,
  type ErrorAnswer,
} from './answers.js';
import { tokenCheck } from './auth.js';
import { isMultipart, readImageFromNode, readTextsFromNode } from './body.js';
import { HttpProblem } from './problem.js';
import { resolveRequestId } from './request-id.js';
import { recordRequest } from './request-log.js';
import { silentLogger } from '../metrics/logger.js';

const TEXT = ROUTES.embedText.path;
const CLASSIFY = ROUTES.classify.path;
const EMBED_IMAGE = ROUTES.embedImage.path;
/** `/v1/classify` with a `top_k` of digits and nothing else; any other query is the app's to parse. */
const CLASSIFY_TOP_K = /^\/v1\/classify\?top_k=(\d{1,9})$/;

/**
 * One abort signal per connection, aborted when the connection closes: a client that leaves closes its
 * connection, and every request on it is then gone (HTTP/1.1 answers a connection's requests in order).
 * Per connection rather than per request, as a controller costs several microseconds to make.
 */
const connectionGone = new WeakMap<Socket, AbortSignal>();

function goneSignal(socket: Socket): AbortSignal {
  let signal = connectionGone.get(socket);
  if (signal === undefined) {
    const controller = new AbortController();
    signal = controller.signal;
    connectionGone.set(socket, signal);
    socket.once('close', () => { controller.abort(new Error('the client closed the connection')); });
  }
  return signal;
}

/**
 * What one direct route does beside the shared frame: `prepare` (checks before the permit), `read` (the
 * body), `run` and `answer`. The frame passes them the request, so a route's steps can be built once.
 */
interface RouteSteps<P, I, A extends Answered> {
  work: Parameters<Engine['tryAcquirePermit']>[0];
  prepare: (req: IncomingMessage) => P;
  read: (req: IncomingMessage) => Promise<I>;
  run: (engine: Engine, input: I, permit: RequestPermit, prepared: P, options: WorkOptions) => Promise<A>;
  answer: (answer: A, req: IncomingMessage, prepared: P) => AnswerParts;
}

/** A request listener's first look: `true` when it has taken the request, `false` to pass it on. */
export type DirectRoutes = (req: IncomingMessage, res: ServerResponse) => boolean;

/** The first value of a request header (Node joins repeated custom headers with ", " as `Headers` does). */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Builds the direct routes over the same dependencies as `createApp(deps)`. */
export function directRoutes({ config, status, metrics, logger = silentLogger }: AppDeps): DirectRoutes {
  const checkToken = tokenCheck(config.token);

  const writeError = (req: IncomingMessage, res: ServerResponse, answer: ErrorAnswer): void => {
    if (res.headersSent || res.destroyed) return;
    // A body left unread (refused before or while reading) is not drained: the connection is closed instead.
    if (!req.complete) res.setHeader('connection', 'close');
    const length = answer.body === null ? 0 : Buffer.byteLength(answer.body);
    res.writeHead(answer.status, { ...answer.headers, 'content-length': String(length) });
    res.end(answer.body ?? undefined);
  };

  /**
   * One inference request: what the app's middleware does (request id, bearer check, readiness, deadline,
   * in-flight count), then `prepare` (checks before the permit), a permit, `read` (the body) and `run`,
   * whose answer (built with what `prepare` returned) is written at once, framed by its length; every
   * failure is answered as the app's
   * `onError` answers it, and the request is counted and logged.
   */
  async function serve<P, I, A extends Answered>(
    req: IncomingMessage,
    res: ServerResponse,
    route: string,
    steps: RouteSteps<P, I, A>,
  ): Promise<void> {
    const started = performance.now();
    const requestId = resolveRequestId(header(req, HEADERS.requestId));
    const gone = goneSignal(req.socket);
    let answered: number;
    try {
      checkToken(header(req, 'authorization'));
      const engine = status.engine;
      if (status.phase !== 'ready' || engine === undefined) {
        throw new HttpProblem('not_ready', status.phase === 'draining' ? 'the server is shutting down' : 'the models are still loading');
      }
      const deadlineMs = parseDeadlineMs(header(req, HEADERS.deadlineMs));
      const deadlineAt = deadlineMs === undefined ? undefined : engine.now() + deadlineMs;
      const leave = status.enter();
      try {
        const prepared = steps.prepare(req);
        const admitting = performance.now();
        const permit = engine.tryAcquirePermit(steps.work);
        try {
          const input = await steps.read(req);
          const admissionMs = performance.now() - admitting;
          const options: WorkOptions = deadlineAt === undefined ? { signal: gone } : { signal: gone, deadlineAt };
          const answer = await steps.run(engine, input, permit, prepared, options);
          const serialising = performance.now();
          const { headers, body } = steps.answer(answer, req, prepared);
          headers[HEADERS.requestId] = requestId;
          // Framed by its length: writeHead alone would send it chunked.
          headers['content-length'] = String(body.byteLength);
          res.writeHead(200, headers);
          res.end(body);
          answered = 200;
          metrics.observeStages(route, {
            admission: admissionMs,
            preprocess: answer.preprocessMs,
            queue: answer.queueMs,
            inference: answer.inferenceMs,
            serialise: performance.now() - serialising,
          });
        } finally {
          permit.release();
        }
      } finally {
        leave();
      }
    } catch (error) {
      const answer = errorAnswer(error, requestId, gone.aborted || req.socket.destroyed, logger);
      writeError(req, res, answer);
      answered = answer.status;
    }
    recordRequest(metrics, logger, { requestId, method: 'POST', path: route, status: answered, started });
  }

  // Built once: a text request creates no functions of its own (each one made per request costs more
  // than its call: under tsx every named function made is also given its name by a property write).
  const textSteps: RouteSteps<undefined, string[], TextEmbeddings> = {
    work: 'embed-text',
    prepare: () => undefined,
    read: (req) => readTextsFromNode(req, config.limits),
    run: (engine, texts, permit, _, options) => engine.embedTexts(texts, permit, options),
    answer: (answer, req) => embeddingsAnswer(answer, acceptsBinaryEmbeddings(header(req, 'accept')), answer.tokens),
  };
  const embedText = (req: IncomingMessage, res: ServerResponse) => serve(req, res, TEXT, textSteps);

  /**
   * An image request's work options: the image read here fills a buffer of its own, transferred to its
   * pre-processing thread, not copied; a claimed digest is checked there (the answer then confirms it).
   */
  const imageWork = (options: WorkOptions, sha256: Sha256Claim | undefined): WorkOptions => ({
    ...options,
    transferImages: true,
    ...(sha256 !== undefined ? { sha256 } : {}),
  });

  const classify = (req: IncomingMessage, res: ServerResponse, topK: string | undefined) =>
    serve(req, res, CLASSIFY, {
      work: 'classify',
      prepare: () => ({ k: parseTopK(topK), sha256: claimedSha256(header(req, HEADERS.contentDigest)) }),
      read: () => readImageFromNode(req, config.limits),
      run: (engine, images, permit, { k, sha256 }, options) => engine.classify(images, k, permit, imageWork(options, sha256)),
      answer: (answer, _req, { sha256 }) => withVerifiedSha256(classifyAnswer(answer), sha256),
    });

  const embedImage = (req: IncomingMessage, res: ServerResponse) =>
    serve(req, res, EMBED_IMAGE, {
      work: 'embed-image',
      prepare: () => claimedSha256(header(req, HEADERS.contentDigest)),
      read: () => readImageFromNode(req, config.limits),
      run: (engine, images, permit, sha256, options) => engine.embedImages(images, permit, imageWork(options, sha256)),
      answer: (answer, _req, sha256) => withVerifiedSha256(embeddingsAnswer(answer, acceptsBinaryEmbeddings(header(req, 'accept'))), sha256),
    });

  /** The direct handler of a request, or `undefined` when the app answers it. */
  const route = (req: IncomingMessage): ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined => {
    if (req.method !== 'POST') return undefined;
    const { url } = req;
    if (url === TEXT) return embedText;
    if (url === undefined || isMultipart(header(req, 'content-type'))) return undefined;
    if (url === EMBED_IMAGE) return embedImage;
    if (url === CLASSIFY) return (q, r) => classify(q, r, undefined);
    const topK = CLASSIFY_TOP_K.exec(url)?.[1];
    return topK === undefined ? undefined : (q, r) => classify(q, r, topK);
  };

  return (req, res) => {
    const handler = route(req);
    if (handler === undefined) return false;
    // Each handler answers every error itself; this catches only a failure to write that answer.
    handler(req, res).catch((error: unknown) => {
      logger.error('could not answer a request', { error });
      res.destroy();
    });
    return true;
  };
}
