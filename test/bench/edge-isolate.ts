/**
 * The worker isolate's own CPU, from V8 CPU profiles taken over the inspector that wrangler serves
 * (Chrome DevTools Protocol `Profiler.start` / `Profiler.stop` on a WebSocket). Shared by
 * `pnpm bench:edge` (a column beside the process CPU) and `pnpm bench:edge:profile` (per function).
 *
 * What a sample means: V8's sampler records a tick only while the isolate is entered, i.e. while the
 * runtime holds the worker's isolate lock to run its JavaScript, its garbage collector or native code
 * called from it (`crypto.subtle.digest`, `JSON.parse`, reading a body that is already buffered). A
 * tick is skipped while the isolate is not in use: while the request waits on a subrequest, KV or R2,
 * and while the same workerd thread serves Miniflare's KV and R2 simulators (other isolates), the
 * local proxy or the runtime's own socket and stream plumbing. That is the line Cloudflare bills by:
 * CPU time while the Worker runs, not the storage services or the network stack behind its bindings.
 *
 * Each sample carries the time since the previous recorded sample. After a skipped stretch that delta
 * spans the whole gap (milliseconds of waiting), so every sample is credited at most one sampling
 * period: the sampler's real period, measured as the median of the deltas between consecutive ticks
 * of a running isolate (deltas under {@link CONTINUOUS_FACTOR} times the requested interval; a loaded
 * machine stretches it past the requested one). A stretch of running that k ticks fall in is then
 * credited k periods, which is its expected length wherever the stretch starts and ends between ticks.
 * `(idle)` samples are left out; `(program)` (native runtime work with the isolate entered) and
 * `(garbage collector)` are counted, since both are the worker's CPU on Cloudflare.
 *
 * Blind spots: native work the runtime does for the worker outside the isolate lock is not seen (body
 * bytes copied through the proxy and the runtime's streams before JavaScript reads them, the storage
 * services' own work); a sampler thread delayed by a loaded machine records fewer, longer ticks, which
 * clipping can only partly credit, so under heavy load the column reads low.
 */

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

export interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Deltas under this many requested intervals are ticks of a running isolate, not gaps (see the module comment). */
export const CONTINUOUS_FACTOR = 4;

/** Sampling interval asked of V8, in µs: fine enough for ≈10 ticks in a 2 ms request, cheap enough to leave on. */
export const SAMPLING_INTERVAL_US = 200;

/** A minimal CDP client: numbered commands, answers matched by id; events are ignored. */
export class Cdp {
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
    // A runtime that restarts the worker closes the session: nothing pending will be answered.
    socket.addEventListener('close', () => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error('the inspector session closed'));
      this.#pending.clear();
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

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (!this.open) return Promise.reject(new Error('the inspector session is closed'));
    const id = this.#next++;
    this.socket.send(JSON.stringify({ id, method, params }));
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, {
        resolve: (v) => {
          resolve(v as T);
        },
        reject,
      });
    });
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * The user worker's profiler, over the inspector on `port` (the worker, not wrangler's own services).
 * When the runtime restarts the worker (it does, now and then, under eight concurrent 4 MB uploads),
 * the run being profiled has no profile and the next one opens a new session.
 */
export class IsolateProfiler {
  #cdp: Cdp | undefined;

  constructor(private readonly port: number) {}

  async #session(): Promise<Cdp> {
    if (this.#cdp?.open === true) return this.#cdp;
    const targets = (await (await fetch(`http://127.0.0.1:${this.port}/json`)).json()) as { webSocketDebuggerUrl: string; title?: string }[];
    const target = targets.find((t) => !(t.title ?? '').startsWith('Cloudflare')) ?? targets[0];
    if (target === undefined) throw new Error('the inspector lists no worker');
    const cdp = await Cdp.connect(target.webSocketDebuggerUrl);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
    this.#cdp = cdp;
    return cdp;
  }

  async start(): Promise<void> {
    await (await this.#session()).send('Profiler.start');
  }

  /** The profile since {@link start}, or null when the session was lost on the way. */
  async stop(): Promise<Profile | null> {
    try {
      const answer = await this.#cdp?.send<{ profile?: Profile } | undefined>('Profiler.stop');
      if (answer?.profile !== undefined) return answer.profile;
    } catch {
      // Lost with the session; reported as null.
    }
    this.close();
    return null;
  }

  close(): void {
    this.#cdp?.close();
    this.#cdp = undefined;
  }
}

/** The sampler's real period in µs: the median delta between ticks of a running isolate. */
export function samplingPeriod(profile: Profile): number {
  const continuous = profile.timeDeltas.filter((d) => d > 0 && d < CONTINUOUS_FACTOR * SAMPLING_INTERVAL_US).sort((a, b) => a - b);
  return continuous[Math.floor(continuous.length / 2)] ?? SAMPLING_INTERVAL_US;
}

/** Each sample's counted time in ms: its delta, at most one sampling period. */
function countedMs(profile: Profile): number[] {
  const period = samplingPeriod(profile);
  return profile.timeDeltas.map((d) => Math.min(Math.max(d, 0), period) / 1000);
}

/** What a profile says of the isolate's CPU: total, by kind and by function (self time), in ms. */
export interface IsolateCpu {
  /** JavaScript, native code called with the isolate entered, and GC. */
  total: number;
  /** Of `total`: `(program)`, native runtime work with no JavaScript frame. */
  program: number;
  /** Of `total`: `(garbage collector)`. */
  gc: number;
  byFunction: Map<string, number>;
}

/** The isolate CPU a profile holds (see the module comment for what is counted and why). */
export function isolateCpu(profile: Profile): IsolateCpu {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const ms = countedMs(profile);
  const byFunction = new Map<string, number>();
  let total = 0;
  let program = 0;
  let gc = 0;
  profile.samples.forEach((id, i) => {
    const t = ms[i] ?? 0;
    const frame = nodes.get(id)?.callFrame;
    const name = frame?.functionName === '' ? '(anonymous)' : (frame?.functionName ?? '?');
    if (name === '(idle)') return;
    total += t;
    if (name === '(program)') program += t;
    if (name === '(garbage collector)') gc += t;
    const file = (frame?.url ?? '').split('/').pop() ?? '';
    const key = file === '' ? name : `${name} ${file}:${(frame?.lineNumber ?? 0) + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + t);
  });
  return { total, program, gc, byFunction };
}
