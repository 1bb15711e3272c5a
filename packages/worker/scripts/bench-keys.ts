/**
 * Wall time of the key CLI's commands on local state, each run as a user runs it (`pnpm --filter
 * @coyo/worker keys …` runs `node scripts/keys-cli.mjs …`, the prebuilt bundle of keys.ts): a fresh
 * process per command, so start-up is counted. Beside each round, as a peer in the same run, `list`
 * through tsx (`node --import tsx scripts/keys.ts`, how the CLI started before it had a bundle).
 * Local state is a temporary folder; `create`, `list` and `revoke` run RUNS times each and the table
 * gives min / median / max seconds and the load average, which on shared cores moves every number:
 * compare rows of one run.
 *
 * Measured with 3 runs at load 17–19 on 2 shared cores: create 1.96 / 3.21 / 3.32 s, list 2.38 / 3.24 /
 * 3.90 s, revoke 3.55 / 3.64 / 4.25 s; the tsx peer's list 5.50 / 5.94 / 6.29 s. A command now costs
 * ≈ 0.9–1.1 s of CPU in all (workerd included; `/usr/bin/time`), against ≈ 1.9 s before: `require` of
 * Miniflare instead of `import()` (its 3.8 MB CommonJS file is not scanned for exports, −0.45 s), the
 * bundle instead of tsx (−0.7 s), `dispatchFetch` instead of the binding proxy's worker thread.
 *
 *   pnpm --filter @coyo/worker bench:keys [runs]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.argv[2] ?? 5);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`runs must be a positive integer, got ${process.argv[2] ?? ''}`);
const launcher = fileURLToPath(new URL('keys-cli.mjs', import.meta.url));
const source = fileURLToPath(new URL('keys.ts', import.meta.url));
const persistTo = mkdtempSync(join(tmpdir(), 'coyo-bench-keys-'));

/** Runs one CLI command in a new process; its stdout and the seconds it took. */
function keys(args: string[], entry: string[] = [launcher]): { stdout: string; seconds: number } {
  const start = performance.now();
  const result = spawnSync(process.execPath, [...entry, ...args, '--persist-to', persistTo], { encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`keys ${args.join(' ')} exited ${String(result.status)}: ${result.stderr}`);
  return { stdout: result.stdout, seconds };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[0] ?? NaN, s[Math.floor(s.length / 2)] ?? NaN, s[s.length - 1] ?? NaN].map((x) => x.toFixed(2));
};
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

try {
  // The first command builds the bundle when it is missing or stale: not a user's steady state.
  keys(['list']);
  const loadBefore = load();
  const times: Record<'create' | 'list' | 'revoke' | 'list (tsx peer)', number[]> = { create: [], list: [], revoke: [], 'list (tsx peer)': [] };
  for (let i = 0; i < RUNS; i++) {
    const created = keys(['create', '--name', `bench-${String(i)}`]);
    times.create.push(created.seconds);
    times.list.push(keys(['list']).seconds);
    times['list (tsx peer)'].push(keys(['list'], ['--import', 'tsx', source]).seconds);
    times.revoke.push(keys(['revoke', created.stdout.trim().slice(0, 12)]).seconds);
  }
  console.log(`keys CLI on local state, ${String(RUNS)} runs each, seconds per command; loadavg ${loadBefore} → ${load()}`);
  console.log('command          min    median max');
  for (const [command, xs] of Object.entries(times)) console.log(`${command.padEnd(16)} ${stats(xs).join('   ')}`);
} finally {
  rmSync(persistTo, { recursive: true, force: true });
}
