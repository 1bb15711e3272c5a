/**
 * Serves the app on Node's HTTP server (`@hono/node-server`), with the inference routes answered directly
 * (`fast-path.ts`) before the app sees it, and closes it gently: stop accepting, drop idle keep-alive
 * connections, let answers being written finish.
 */
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Config } from '../config.js';
import { createApp, type AppDeps } from './app.js';
import { directRoutes } from './fast-path.js';

/** How long close() waits for open connections before cutting them, in ms. */
const CLOSE_GRACE_MS = 5_000;

export interface RunningServer {
  /** `http://host:port` it listens on (the real port when 0 was asked for). */
  url: string;
  port: number;
  /** Stops accepting connections and resolves once the open ones have ended. */
  close(): Promise<void>;
}

/** Builds the app from `deps` and listens on `config.host:config.port`. */
export async function createServer(config: Pick<Config, 'host' | 'port'>, deps: AppDeps): Promise<RunningServer> {
  const app = createApp(deps);
  const direct = directRoutes(deps);
  // The app through node-server's listener (as its `serve` would), behind the direct routes.
  const toApp = getRequestListener(app.fetch, { hostname: config.host });
  const server = createHttpServer((req, res) => {
    if (!direct(req, res)) void toApp(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Connections answering when close() is called turn idle later; keep closing those as they do,
        // so keep-alive clients do not hold the process for the keep-alive timeout.
        const sweep = setInterval(() => { server.closeIdleConnections(); }, 50);
        const force = setTimeout(() => { server.closeAllConnections(); }, CLOSE_GRACE_MS);
        server.close((error) => {
          clearInterval(sweep);
          clearTimeout(force);
          if (error) reject(error);
          else resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
