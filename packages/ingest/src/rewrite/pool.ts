/**
 * Where shards are rewritten: in this thread ({@link inlineRewriter}) or on a pool of worker threads
 * ({@link startRewritePool}), one shard per thread at a time, tasks served in arrival order. Shards are
 * independent, so both give the same bytes; the pool keeps the main thread free for DuckDB's next COPY
 * and the previous shard's checksum. A thread that dies fails its task and every later one.
 */
import { Worker } from 'node:worker_threads';
import { writeLayoutShard, type RewriteResult, type RewriteTask } from './layout-shard.js';

/** A message to a rewrite thread. */
export interface ToRewrite {
  readonly id: number;
  readonly task: RewriteTask;
}

/** A rewrite thread's answer to one task. */
export type FromRewrite =
  | { readonly id: number; readonly ok: true; readonly result: RewriteResult }
  | { readonly id: number; readonly ok: false; readonly message: string };

export interface ShardRewriter {
  /** Rewrites one shard; resolves once its file is in place. */
  rewrite(task: RewriteTask): Promise<RewriteResult>;
  /** Stops the threads (tasks still running are abandoned). */
  close(): Promise<void>;
}

/** Rewrites shards in this thread, one at a time. */
export function inlineRewriter(): ShardRewriter {
  return { rewrite: writeLayoutShard, close: () => Promise.resolve() };
}

const ENTRY = new URL('./thread-entry.mjs', import.meta.url);

interface Pending {
  readonly id: number;
  readonly task: RewriteTask;
  readonly resolve: (result: RewriteResult) => void;
  readonly reject: (error: Error) => void;
}

/** Starts `threads` rewrite threads (at least one). */
export function startRewritePool(threads: number): ShardRewriter {
  if (!Number.isSafeInteger(threads) || threads < 1) throw new Error(`bug: a rewrite pool of ${threads} threads`);
  const idle: Worker[] = [];
  const running = new Map<Worker, Pending>();
  const queue: Pending[] = [];
  let failure: Error | undefined;
  let closing = false;
  let nextId = 0;

  const fail = (error: Error): void => {
    failure ??= error;
    for (const pending of [...running.values(), ...queue.splice(0)]) pending.reject(failure);
    running.clear();
  };
  const dispatch = (): void => {
    while (failure === undefined && idle.length > 0 && queue.length > 0) {
      const worker = idle.pop() as Worker;
      const pending = queue.shift() as Pending;
      running.set(worker, pending);
      worker.postMessage({ id: pending.id, task: pending.task } satisfies ToRewrite);
    }
  };
  const workers = Array.from({ length: threads }, (_, i) => {
    const worker = new Worker(ENTRY, { execArgv: [], name: `rewrite:${i}` });
    worker.on('message', (message: FromRewrite) => {
      const pending = running.get(worker);
      if (pending?.id !== message.id) {
        fail(new Error(`bug: rewrite thread ${i} answered task ${message.id}, not ${pending?.id ?? 'none'}`));
        return;
      }
      running.delete(worker);
      idle.push(worker);
      if (message.ok) pending.resolve(message.result);
      else pending.reject(new Error(`shard rewrite of ${pending.task.file} failed: ${message.message}`));
      dispatch();
    });
    worker.on('error', (error) => { fail(error); });
    worker.on('exit', (code) => {
      if (!closing) fail(new Error(`rewrite thread ${i} exited with code ${code}`));
    });
    idle.push(worker);
    return worker;
  });

  return {
    rewrite(task) {
      return new Promise<RewriteResult>((resolve, reject) => {
        if (closing) throw new Error('bug: a rewrite after the pool closed');
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        queue.push({ id: nextId++, task, resolve, reject });
        dispatch();
      });
    },
    async close() {
      closing = true;
      fail(new Error('the rewrite pool closed'));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
