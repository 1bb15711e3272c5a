/**
 * A session thread for tests of `SessionHost`: says it is ready like the real one, then dies with an
 * uncaught error on its first run, as a thread whose native session broke would.
 */
import { parentPort } from 'node:worker_threads';
import type { FromSession, ToSession } from '../src/backend/session-protocol.js';

const port = parentPort;
if (port === null) throw new Error('bug: crashing-session-worker.ts must run in a worker thread');
const ready: FromSession = { kind: 'ready', device: 'cpu', inputs: [], outputs: [] };
port.postMessage(ready);
port.on('message', (message: ToSession) => {
  if (message.kind === 'close') {
    port.postMessage({ kind: 'closed' } satisfies FromSession);
    port.close();
    return;
  }
  throw new Error('session thread crashed during a run');
});
