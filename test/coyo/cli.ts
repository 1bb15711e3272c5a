/** Runs the real `coyo-ingest` CLI (packages/ingest/bin) as a child process, as an operator would. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { runProcess, type ProcessResult } from '../harness/run';
import { REPO_ROOT } from '../harness/stack';

export const CLI = join(REPO_ROOT, 'packages', 'ingest', 'bin', 'coyo-ingest.mjs');
export const WRANGLER_CONFIG = join(REPO_ROOT, 'wrangler.toml');

export type CliResult = ProcessResult;

/** Runs the CLI to completion. */
export function runCli(args: readonly string[]): Promise<CliResult> {
  return runProcess(process.execPath, [CLI, ...args], { cwd: REPO_ROOT });
}

/** Runs the CLI and fails with its output unless it exits 0. */
export async function runCliOk(args: readonly string[]): Promise<CliResult> {
  const result = await runCli(args);
  if (result.status !== 0) throw new Error(`coyo-ingest ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  return result;
}

/** One line of the CLI's `--progress json` output. */
export type IngestEvent = Record<string, unknown>;

export interface IngestRun extends CliResult {
  /** Whether `killAt` matched and the run was killed there. */
  killed: boolean;
  events: IngestEvent[];
}

/**
 * Runs `coyo-ingest ingest` with JSON progress. When `killAt` matches an event, the whole process
 * group (the CLI and the workerd behind wrangler's platform proxy) is killed with SIGKILL there.
 */
export function ingestWithProgress(args: readonly string[], killAt?: (event: IngestEvent) => boolean): Promise<IngestRun> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [CLI, 'ingest', ...args, '--progress', 'json'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const events: IngestEvent[] = [];
    let stdout = '';
    let stderr = '';
    let buffer = '';
    let killed = false;
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      buffer += d.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!line.startsWith('{')) continue;
        const event = JSON.parse(line) as IngestEvent;
        events.push(event);
        if (!killed && killAt?.(event) === true && child.pid !== undefined) {
          killed = true;
          process.kill(-child.pid, 'SIGKILL');
        }
      }
    });
    child.on('error', reject);
    child.on('close', (status) => {
      resolve({ status, killed, events, stdout, stderr });
    });
  });
}

/** Starts an ingest and kills it as soon as the first shard upload is reported. */
export async function ingestAndKillAfterFirstUpload(args: readonly string[]): Promise<{ events: IngestEvent[] }> {
  const run = await ingestWithProgress(args, (event) => event['event'] === 'shard-uploaded');
  if (!run.killed) throw new Error(`the ingest ended before any upload:\n${run.stderr}`);
  return { events: run.events };
}

/** The rows of a folder of COYO parquet, as `coyo-ingest dump` prints them (JSON Lines). */
export async function dumpRows<Row>(dir: string): Promise<Row[]> {
  const { stdout } = await runCliOk(['dump', dir]);
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Row);
}
