/** Runs the real `coyo-ingest` CLI (packages/ingest/bin) as a child process, as an operator would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/stack';

export const CLI = join(REPO_ROOT, 'packages', 'ingest', 'bin', 'coyo-ingest.mjs');
export const WRANGLER_CONFIG = join(REPO_ROOT, 'wrangler.toml');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export function runCli(args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => {
      resolve({ status, stdout, stderr });
    });
  });
}

/** Runs the CLI and fails with its output unless it exits 0. */
export async function runCliOk(args: readonly string[]): Promise<CliResult> {
  const result = await runCli(args);
  if (result.status !== 0) throw new Error(`coyo-ingest ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  return result;
}

/**
 * Starts an ingest with JSON progress and kills its whole process group (the CLI and the workerd
 * behind wrangler's platform proxy) with SIGKILL as soon as the first shard upload is reported.
 */
export function ingestAndKillAfterFirstUpload(args: readonly string[]): Promise<{ events: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [CLI, 'ingest', ...args, '--progress', 'json'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const events: Record<string, unknown>[] = [];
    let buffer = '';
    let killed = false;
    child.stderr?.on('data', (d: Buffer) => {
      buffer += d.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        const event = JSON.parse(line) as Record<string, unknown>;
        events.push(event);
        if (!killed && event['event'] === 'shard-uploaded' && child.pid !== undefined) {
          killed = true;
          process.kill(-child.pid, 'SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      if (killed) resolve({ events });
      else reject(new Error(`the ingest ended before any upload:\n${buffer}`));
    });
  });
}
