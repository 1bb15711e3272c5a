/**
 * `POST /v1/embed/text` served straight from Node's request and response, without the `Request`,
 * `Response`, context and middleware chain the Hono app builds around every request: on a text request
 * those cost about as much CPU as the rest of the request together. Everything a caller can observe is
 * the app's, from the same functions: request id, bearer check, readiness and deadline, permit before
 * the body, body limits and validation, answer headers and body, problem documents, 499 for a client
 * that left, the `requests` counter, stage times and the log line. `fast-path.test.ts` holds the two
 * paths to the same answers. Every other request (and this route with a query string) goes to Hono.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HEADERS, ROUTES, acceptsBinaryEmbeddings } from '@coyo/backend-protocol';
import type { AppDeps } from './app.js';
import { embeddingsAnswer, errorAnswer, parseDeadlineMs, type ErrorAnswer } from './answers.js';
import { tokenCheck } from './auth.js';
import { readTextsFromNode } from './body.js';
import { HttpProblem } from './problem.js';
import { resolveRequestId } from './request-id.js';
import { recordRequest } from './request-log.js';
import { silentLogger } from '../metrics/logger.js';

const ROUTE = ROUTES.embedText.path;

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

  async function embedText(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
        const admitting = performance.now();
        const permit = engine.tryAcquirePermit('embed-text');
        try {
          const texts = await readTextsFromNode(req, config.limits);
          const admissionMs = performance.now() - admitting;
          const answer = await engine.embedTexts(texts, permit, { signal: gone, ...(deadlineAt !== undefined ? { deadlineAt } : {}) });
          const serialising = performance.now();
          const { headers, body } = embeddingsAnswer(answer, acceptsBinaryEmbeddings(header(req, 'accept')), answer.tokens);
          headers[HEADERS.requestId] = requestId;
          // Framed by its length: writeHead alone would send it chunked.
          headers['content-length'] = String(body.byteLength);
          res.writeHead(200, headers);
          res.end(body);
          answered = 200;
          metrics.observeStages(ROUTE, {
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
    recordRequest(metrics, logger, { requestId, method: 'POST', path: ROUTE, status: answered, started });
  }

  return (req, res) => {
    if (req.method !== 'POST' || req.url !== ROUTE) return false;
    // embedText answers every error itself; this catches only a failure to write that answer.
    embedText(req, res).catch((error: unknown) => {
      logger.error('could not answer a request', { error });
      res.destroy();
    });
    return true;
  };
}
