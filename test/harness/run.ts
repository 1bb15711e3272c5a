/** Runs a child process to its end and collects what it printed. */
import { spawn, type SpawnOptions } from 'node:child_process';

export interface ProcessResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns `command` (stdin closed, stdout and stderr piped) and resolves when it has closed. */
export function runProcess(command: string, args: readonly string[], options: Omit<SpawnOptions, 'stdio'> = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
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
