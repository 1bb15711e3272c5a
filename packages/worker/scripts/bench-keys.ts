/**
 * Wall time of the key CLI's commands on local state, each run as a user runs it (`pnpm --filter
 * @coyo/worker keys …` runs `node --import tsx scripts/keys.ts …`): a fresh process per command, so
 * start-up is counted. Local state is a temporary folder; `create`, `list` and `revoke` run RUNS
 * times each and the table gives min / median / max seconds.
 *
 * Measured on 2 shared cores, `list` with the state opened through wrangler's platform proxy against
 * Miniflare alone, runs interleaved: 3.2–3.8 s against 1.8–2.1 s at load ≈ 5, 5.2–6.9 s against
 * 4.2–5.5 s at load ≈ 7.7. Most of what remains is loading Miniflare and starting workerd.
 *
 *   pnpm --filter @coyo/worker bench:keys [runs]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNS = Number(process.argv[2] ?? 5);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`runs must be a positive integer, got ${process.argv[2] ?? ''}`);
const script = fileURLToPath(new URL('keys.ts', import.meta.url));
const persistTo = mkdtempSync(join(tmpdir(), 'coyo-bench-keys-'));

/** Runs one CLI command in a new process; its stdout and the seconds it took. */
function keys(args: string[]): { stdout: string; seconds: number } {
  const start = performance.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', script, ...args, '--persist-to', persistTo], { encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  if (result.status !== 0) throw new Error(`keys ${args.join(' ')} exited ${String(result.status)}: ${result.stderr}`);
  return { stdout: result.stdout, seconds };
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[0] ?? NaN, s[Math.floor(s.length / 2)] ?? NaN, s[s.length - 1] ?? NaN].map((x) => x.toFixed(2));
};

try {
  const times: Record<'create' | 'list' | 'revoke', number[]> = { create: [], list: [], revoke: [] };
  for (let i = 0; i < RUNS; i++) {
    const created = keys(['create', '--name', `bench-${String(i)}`]);
    times.create.push(created.seconds);
    times.list.push(keys(['list']).seconds);
    times.revoke.push(keys(['revoke', created.stdout.trim().slice(0, 12)]).seconds);
  }
  console.log(`keys CLI on local state, ${String(RUNS)} runs each, seconds per command`);
  console.log('command  min    median max');
  for (const [command, xs] of Object.entries(times)) console.log(`${command.padEnd(8)} ${stats(xs).join('   ')}`);
} finally {
  rmSync(persistTo, { recursive: true, force: true });
}
