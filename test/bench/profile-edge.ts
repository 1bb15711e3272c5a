/**
 * `pnpm bench:edge:profile [--case <substring>]... [--requests n]`: V8 CPU profiles of the edge worker
 * under the local Workers runtime, one per benchmark case (see edge-cases.ts). The worker's inspector
 * is served by wrangler; the Chrome DevTools Protocol is spoken over a WebSocket (Profiler.start /
 * Profiler.stop). Prints each case's sampled time per request and its top functions by self time,
 * and writes bench-results/profiles/<case>.cpuprofile (open in Chrome DevTools or speedscope).
 * Needs `node --experimental-websocket` (Node 20 has no global WebSocket without it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, REPO_ROOT } from '../harness/stack.ts';
import { startEdgeBench } from './edge-cases.ts';

const { values: args } = parseArgs({ options: { case: { type: 'string', multiple: true }, requests: { type: 'string', default: '30' }, top: { type: 'string', default: '20' } } });

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** A minimal CDP client: numbered commands, answers matched by id; events are ignored. */
class Cdp {
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event: MessageEvent<string>) => {
      const message = JSON.parse(event.data) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) return;
      const waiter = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error.message));
      else waiter?.resolve(message.result);
    });
  }

  static async connect(url: string): Promise<Cdp> {
    // The inspector proxy only admits local origins; undici's WebSocket takes headers as a second argument.
    const socket = new WebSocket(url, { headers: { origin: 'http://127.0.0.1' } } as unknown as string[]);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => {
        resolve();
      });
      socket.addEventListener('error', () => {
        reject(new Error(`cannot open ${url}`));
      });
    });
    return new Cdp(socket);
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    this.socket.send(JSON.stringify({ id, method, params }));
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: (v) => { resolve(v as T); }, reject });
    });
  }

  close(): void {
    this.socket.close();
  }
}

/** Self time per function (ms), from the samples and their time deltas. */
function selfTimes(profile: Profile): { total: number; idle: number; byFunction: Map<string, number> } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const byFunction = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const frame = nodes.get(id)?.callFrame;
    const name = frame?.functionName === '' ? '(anonymous)' : (frame?.functionName ?? '?');
    if (name === '(idle)' || name === '(program)') {
      idle += ms;
      return;
    }
    total += ms;
    const file = (frame?.url ?? '').split('/').pop() ?? '';
    const key = `${name} ${file}:${(frame?.lineNumber ?? 0) + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + ms);
  });
  return { total, idle, byFunction };
}

const inspectorPort = await freePort();
const bench = await startEdgeBench({ workerInspectorPort: inspectorPort });
try {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string; title?: string }[];
  const target = targets.find((t) => !(t.title ?? '').startsWith('Cloudflare')) ?? targets[0];
  if (target === undefined) throw new Error('the inspector lists no worker');
  const cdp = await Cdp.connect(target.webSocketDebuggerUrl);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  const requests = Number(args.requests);
  const wanted = args.case ?? [];
  const cases = bench.cases.filter((c) => wanted.length === 0 || wanted.some((w) => c.name.includes(w)));
  const outDir = join(REPO_ROOT, 'bench-results', 'profiles');
  mkdirSync(outDir, { recursive: true });
  for (const c of [bench.floor, ...cases]) {
    const n = Math.min(requests, c.requests);
    await cdp.send('Profiler.start');
    for (let i = 0; i < n; i++) {
      const res = await c.request(i);
      await res.arrayBuffer();
      if (res.status !== (c.expectedStatus ?? 200)) console.warn(`${c.name}: answered ${res.status}`);
    }
    const { profile } = await cdp.send<{ profile: Profile }>('Profiler.stop');
    const file = join(outDir, `${c.name.replaceAll(/[^a-z0-9]+/gi, '-').replace(/-$/, '')}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const { total, byFunction } = selfTimes(profile);
    console.log(`\n${c.name}: ${(total / n).toFixed(2)} ms of JavaScript (and the native calls it made) per request, ${n} requests → ${file}`);
    const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top));
    for (const [name, ms] of top) console.log(`  ${(ms / n).toFixed(3).padStart(8)} ms  ${name}`);
  }
  cdp.close();
} finally {
  await bench.stop();
}
