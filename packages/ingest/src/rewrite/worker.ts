/** One shard-rewrite thread: rewrites the shards its pool sends, one at a time, and answers each. */
import { parentPort } from 'node:worker_threads';
import { writeLayoutShard } from './layout-shard.js';
import type { FromRewrite, ToRewrite } from './pool.js';

const port = parentPort;
if (port === null) throw new Error('bug: the rewrite worker runs outside a worker thread');

port.on('message', (message: ToRewrite) => {
  const answer = (reply: FromRewrite): void => {
    port.postMessage(reply);
  };
  writeLayoutShard(message.task).then(
    (result) => { answer({ id: message.id, ok: true, result }); },
    (error: unknown) => { answer({ id: message.id, ok: false, message: error instanceof Error ? (error.stack ?? error.message) : String(error) }); },
  );
});
