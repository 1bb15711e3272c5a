import { createApp } from './app';

/** The worker: the app with production dependencies (global fetch, real clock). */
const app = createApp();

export default app;
