/**
 * The HTTP process's side of a replica (`primary.ts`): which slot it fills, telling the primary it is
 * ready, answering the primary's metric collections, and asking the primary for the merged page when a
 * scrape reaches this process.
 */
import cluster from 'node:cluster';
import { addLabel } from './exposition.js';
import { CHILD_ENV, PrimaryMessageSchema, type ChildMessage } from './messages.js';

/** How long a scrape waits for the primary's merged page before answering with this process's own. */
const SCRAPE_TIMEOUT_MS = 5_000;

export interface ReplicaProcess {
  /** 0…N-1, stable across restarts. */
  slot: number;
  /** Started again after a process exited: listen only once the sessions are warm. */
  replacement: boolean;
  /** Tells the primary this process answers `/readyz` 200. */
  reportReady(): void;
  /** Answers the primary's collections with `render()`, this process's own page. */
  serveMetrics(render: () => string): void;
  /** The merged page of every process (this one's alone, labelled, when the primary does not answer). */
  scrape(): Promise<string>;
}

/** This process's place in a replica, or `undefined` when it serves alone. */
export function replicaProcess(env: Readonly<Record<string, string | undefined>> = process.env): ReplicaProcess | undefined {
  const send = process.send?.bind(process);
  if (!cluster.isWorker || send === undefined) return undefined;
  const slot = Number(env[CHILD_ENV.slot] ?? '0');
  const post = (message: ChildMessage): void => {
    if (process.connected) send(message);
  };
  let render: () => string = () => '';
  let nextScrape = 0;
  const scrapes = new Map<number, (text: string) => void>();
  process.on('message', (raw: unknown) => {
    const parsed = PrimaryMessageSchema.safeParse(raw);
    if (!parsed.success) return;
    const message = parsed.data;
    if (message.type === 'coyo:collect') post({ type: 'coyo:metrics', id: message.id, text: render() });
    else scrapes.get(message.id)?.(message.text);
  });
  return {
    slot,
    replacement: env[CHILD_ENV.replacement] === '1',
    reportReady: () => { post({ type: 'coyo:ready' }); },
    serveMetrics: (r) => { render = r; },
    scrape: () =>
      new Promise<string>((resolve) => {
        const id = nextScrape++;
        const finish = (text: string): void => {
          clearTimeout(timer);
          scrapes.delete(id);
          resolve(text);
        };
        const timer = setTimeout(() => { finish(addLabel(render(), 'process', String(slot))); }, SCRAPE_TIMEOUT_MS);
        scrapes.set(id, finish);
        post({ type: 'coyo:scrape', id });
      }),
  };
}
