/**
 * `pnpm bench:edge:profile [--case <substring>]... [--requests n]`: V8 CPU profiles of the edge worker
 * under the local Workers runtime, one per benchmark case (see edge-cases.ts), in the order the `--case`
 * options name them (a case named twice is profiled twice). The worker's inspector
 * is served by wrangler; the Chrome DevTools Protocol is spoken over a WebSocket (edge-isolate.ts).
 * Each case sends three warm-up requests first, as bench:edge does. Prints each case's isolate CPU per
 * request, its `loadavg` at the start, and its top functions by self time,
 * and writes bench-results/profiles/<nn>-<case>.cpuprofile (open in Chrome DevTools or speedscope).
 * Needs `node --experimental-websocket` (Node 20 has no global WebSocket without it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, REPO_ROOT } from '../harness/stack.ts';
import { startEdgeBench } from './edge-cases.ts';
import { isolateCpu, IsolateProfiler } from './edge-isolate.ts';

/** Requests of a case sent (not profiled) before its profile starts, as bench:edge does (edge.ts). */
const WARMUP_REQUESTS = 3;
const WARMUP_INDEX = 1_000_000;

const { values: args } = parseArgs({ options: { case: { type: 'string', multiple: true }, requests: { type: 'string', default: '30' }, top: { type: 'string', default: '20' } } });

const inspectorPort = await freePort();
const bench = await startEdgeBench({ workerInspectorPort: inspectorPort });
try {
  const profiler = new IsolateProfiler(inspectorPort);
  const requests = Number(args.requests);
  const wanted = args.case ?? [];
  // In the order the --case options give (a case named twice runs twice: A, B, A shows order effects).
  const cases = wanted.length === 0 ? bench.cases : wanted.flatMap((w) => bench.cases.filter((c) => c.name.includes(w)));
  const outDir = join(REPO_ROOT, 'bench-results', 'profiles');
  mkdirSync(outDir, { recursive: true });
  for (const [index, c] of [bench.floor, ...cases].entries()) {
    const n = Math.min(requests, c.requests);
    // As in bench:edge: the first requests of a route compile its code, which is not what a request costs.
    for (let w = 0; w < WARMUP_REQUESTS; w++) {
      try {
        await (await c.request(WARMUP_INDEX + w)).arrayBuffer();
      } catch {
        // Not profiled; the measured requests report failures.
      }
    }
    await profiler.start();
    for (let i = 0; i < n; i++) {
      try {
        const res = await c.request(i);
        await res.arrayBuffer();
        if (res.status !== (c.expectedStatus ?? 200)) console.warn(`${c.name}: answered ${res.status}`);
      } catch (err) {
        // The SDK's cases throw for an answer other than 2xx: reported, and the run goes on.
        console.warn(`${c.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const profile = await profiler.stop();
    if (profile === null) {
      console.warn(`${c.name}: the worker restarted during the run; no profile`);
      continue;
    }
    const file = join(outDir, `${String(index).padStart(2, '0')}-${c.name.replaceAll(/[^a-z0-9]+/gi, '-').replace(/-$/, '')}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const { total, program, gc, byFunction } = isolateCpu(profile);
    console.log(
      `\n${c.name} (load ${loadavg()[0]?.toFixed(2) ?? '?'}): ${(total / n).toFixed(2)} ms of isolate CPU per request (${(program / n).toFixed(2)} native runtime work, ${(gc / n).toFixed(2)} GC), ${n} requests → ${file}`,
    );
    const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top));
    for (const [name, ms] of top) console.log(`  ${(ms / n).toFixed(3).padStart(8)} ms  ${name}`);
  }
  profiler.close();
} finally {
  await bench.stop();
}
