/**
 * Starts the GPU backend: read the configuration, make sure models are there, listen at once (so
 * `/healthz` answers and `/readyz` says 503 while loading), load and warm up the sessions, then open
 * `/v1/*`. On SIGTERM or SIGINT: stop admitting, let admitted work finish, release the sessions, exit 0.
 * With `COYO_HTTP_PROCESSES` > 1 this process becomes a replica's primary and forks that many HTTP
 * processes sharing the port, each doing all of the above (`replica/primary.ts`).
 */
import cluster from 'node:cluster';
import { Engine } from './batching/engine.js';
import { hasModels, loadModelsInfo, OnnxBackend, requiredModelFiles } from './backend/onnx.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createServer, type RunningServer } from './http/server.js';
import { ServerStatus } from './http/status.js';
import { createLogger, type LogFields, type Logger } from './metrics/logger.js';
import { BackendMetrics } from './metrics/metrics.js';
import { replicaProcess } from './replica/child.js';
import { runPrimary } from './replica/primary.js';

/** `logger` with `fields` added to every line. */
function withFields(logger: Logger, fields: LogFields): Logger {
  return {
    info: (message, more = {}) => { logger.info(message, { ...fields, ...more }); },
    warn: (message, more = {}) => { logger.warn(message, { ...fields, ...more }); },
    error: (message, more = {}) => { logger.error(message, { ...fields, ...more }); },
  };
}

async function ensureModels(config: Config, logger: Logger): Promise<void> {
  if (hasModels(config.modelsDir)) return;
  const missing = requiredModelFiles(config.modelsDir).join(', ');
  if (!config.generateTestModels) {
    throw new Error(
      `MODELS_DIR=${config.modelsDir} has no models (looked for ${missing}). Export the real checkpoints there, ` +
        'run `pnpm gen:models` for test models, or set COYO_GENERATE_TEST_MODELS=1.',
    );
  }
  logger.warn('no models found; generating test models (COYO_GENERATE_TEST_MODELS=1)', { models_dir: config.modelsDir });
  // Loaded only here: the generator pulls in the ONNX protobuf builder, which serving never needs.
  const { generateTestModels } = await import('./models/test-models.js');
  await generateTestModels(config.modelsDir);
}

async function main(): Promise<void> {
  const replica = replicaProcess();
  const logger = replica === undefined ? createLogger() : withFields(createLogger(), { process: replica.slot, pid: process.pid });
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }

  if (cluster.isPrimary && config.processes > 1) {
    // Generated here, once, rather than by every process at the same time.
    await ensureModels(config, logger);
    runPrimary({ processes: config.processes, logger });
    return;
  }
  if (replica === undefined) await ensureModels(config, logger);
  const models = await loadModelsInfo(config.modelsDir);
  if (models.testModels) {
    logger.warn('!!! SERVING GENERATED TEST MODELS: outputs are meaningless !!!', { warning: models.warning ?? null });
  }
  if (config.token === undefined) logger.warn('authentication is off (ALLOW_NO_AUTH=1)', { host: config.host });

  const metrics = new BackendMetrics({ maxBatchSize: config.batching.maxBatchSize });
  const status = new ServerStatus(models);
  replica?.serveMetrics(() => metrics.render());
  const listen = () =>
    createServer(config, { config, status, metrics, logger, ...(replica !== undefined ? { renderMetrics: () => replica.scrape() } : {}) });
  // A process replacing one that exited listens once it is ready: the port is served by the others meanwhile.
  let server: RunningServer | undefined;
  if (replica?.replacement === true) {
    logger.info('loading models before listening', { models_dir: config.modelsDir, device: config.device });
  } else {
    server = await listen();
    logger.info('listening; loading models', { url: server.url, models_dir: config.modelsDir, device: config.device });
  }

  const loading = OnnxBackend.create(
    {
      modelsDir: config.modelsDir,
      device: config.device,
      precision: config.precision,
      intraOpThreads: config.intraOpThreads,
      allowSpinning: config.allowSpinning,
      preprocessThreads: config.preprocessThreads,
      maxImagePixels: config.limits.maxImagePixels,
      logger,
      // A session thread that died cannot serve its model again: stop being ready, drain what the
      // other towers hold, and exit non-zero so the orchestrator starts a fresh server.
      onSessionDeath: (tower, error) => {
        logger.error('a model session thread died; draining and exiting so this server is replaced', { tower, error: error.message });
        void shutdown('SIGTERM', 1);
      },
    },
    models,
  );

  let stopping = false;
  // Read through a call: a signal can start the shutdown while the models load, which narrowing does not see.
  const isStopping = (): boolean => stopping;
  const shutdown = async (signal: NodeJS.Signals, exitCode = 0): Promise<void> => {
    if (stopping) {
      logger.warn('already shutting down', { signal });
      return;
    }
    stopping = true;
    logger.info('shutting down: draining', { signal, in_flight: status.inFlight });
    status.beginDrain();
    await status.idle();
    await server?.close();
    logger.info('http server closed; releasing sessions');
    // Sessions still loading must finish loading before they can be released.
    const backend = await loading.catch(() => undefined);
    await backend?.close();
    logger.info('stopped', { exit_code: exitCode });
    process.exit(exitCode);
  };
  process.on('SIGTERM', (s) => void shutdown(s));
  process.on('SIGINT', (s) => void shutdown(s));

  let backend: OnnxBackend;
  try {
    backend = await loading;
  } catch (error) {
    logger.error('could not load the models', { error });
    await server?.close();
    process.exit(1);
  }
  if (isStopping()) return;
  metrics.trackThreads(() => backend.threadLoops());
  status.markReady(new Engine({ backend, batching: config.batching, metrics }));
  if (server === undefined) {
    server = await listen();
    // A signal that came while it started listening: the shutdown did not see this server, so close it here.
    if (isStopping()) {
      await server.close();
      return;
    }
  }
  replica?.reportReady();
  logger.info('ready', { url: server.url, device: backend.device, test_models: models.testModels });
}

main().catch((error: unknown) => {
  createLogger().error('start-up failed', { error });
  process.exit(1);
});
