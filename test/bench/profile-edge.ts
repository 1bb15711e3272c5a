/**
 * `pnpm bench:edge:profile [--case <substring>]... [--requests n]`: V8 CPU profiles of the edge worker
 * under the local Workers runtime, one per benchmark case (see edge-cases.ts). The worker's inspector
 * is served by wrangler; the Chrome DevTools Protocol is spoken over a WebSocket (edge-isolate.ts).
 * Prints each case's isolate CPU per request and its top functions by self time,
 * and writes bench-results/profiles/<case>.cpuprofile (open in Chrome DevTools or speedscope).
 * Needs `node --experimental-websocket` (Node 20 has no global WebSocket without it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, REPO_ROOT } from '../harness/stack.ts';
import { startEdgeBench } from './edge-cases.ts';
import { isolateCpu, IsolateProfiler } from './edge-isolate.ts';

const { values: args } = parseArgs({ options: { case: { type: 'string', multiple: true }, requests: { type: 'string', default: '30' }, top: { type: 'string', default: '20' } } });

const inspectorPort = await freePort();
const bench = await startEdgeBench({ workerInspectorPort: inspectorPort });
try {
  const profiler = new IsolateProfiler(inspectorPort);
  const requests = Number(args.requests);
  const wanted = args.case ?? [];
  const cases = bench.cases.filter((c) => wanted.length === 0 || wanted.some((w) => c.name.includes(w)));
  const outDir = join(REPO_ROOT, 'bench-results', 'profiles');
  mkdirSync(outDir, { recursive: true });
  for (const c of [bench.floor, ...cases]) {
    const n = Math.min(requests, c.requests);
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
    const file = join(outDir, `${c.name.replaceAll(/[^a-z0-9]+/gi, '-').replace(/-$/, '')}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const { total, program, gc, byFunction } = isolateCpu(profile);
    console.log(
      `\n${c.name}: ${(total / n).toFixed(2)} ms of isolate CPU per request (${(program / n).toFixed(2)} native runtime work, ${(gc / n).toFixed(2)} GC), ${n} requests → ${file}`,
    );
    const top = [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(args.top));
    for (const [name, ms] of top) console.log(`  ${(ms / n).toFixed(3).padStart(8)} ms  ${name}`);
  }
  profiler.close();
} finally {
  await bench.stop();
}
