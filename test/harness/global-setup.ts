/**
 * Runs once before the end-to-end suites: builds the worker's static assets (the pages that
 * wrangler.toml's `[assets]` serves), so every suite that starts the worker serves the current pages.
 */
import { spawnSync } from 'node:child_process';
import { REPO_ROOT } from './stack.ts';

export default function setup(): void {
  const build = spawnSync('pnpm', ['--filter', '@coyo/worker', 'build:assets'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building the worker's assets failed:\n${build.stdout}\n${build.stderr}`);
}
