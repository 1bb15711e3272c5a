#!/usr/bin/env node
// Runs every test suite in the workspace (unit, Workers-runtime and end-to-end), one vitest run per
// project so each keeps its own pool, then prints one closing line: "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
// Every workspace package, then the end-to-end suite last (it starts the real processes).
const projects = [
  ...readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'packages', d.name, 'package.json')))
    .map((d) => `packages/${d.name}`)
    .sort(),
  'test',
];
const only = process.argv.slice(2);
const out = mkdtempSync(join(tmpdir(), 'coyo-test-'));

const gen = spawnSync('pnpm', ['gen:models'], { cwd: root, stdio: 'inherit' });
if (gen.status !== 0) {
  console.error('generating the test models failed');
  console.log('0 passed, 1 failed');
  process.exit(1);
}

// The native JPEG decoder addon (skipped when up to date; without a compiler the backend uses sharp).
spawnSync('pnpm', ['--filter', '@coyo/gpu-backend', 'build:native'], { cwd: root, stdio: 'inherit' });

let passed = 0;
let failed = 0;
let skipped = 0;

// Static checks count as one test each: strict types in every package, and the lint rules.
for (const [name, args] of [['typecheck', ['typecheck']], ['lint', ['lint']]]) {
  if (only.length > 0) break;
  console.log(`\n▶ ${name}`);
  const check = spawnSync('pnpm', args, { cwd: root, stdio: 'inherit' });
  if (check.status === 0) passed += 1;
  else {
    console.error(`✗ ${name} failed`);
    failed += 1;
  }
}
for (const project of projects) {
  if (only.length > 0 && !only.some((o) => project.includes(o))) continue;
  const cwd = join(root, project);
  if (!existsSync(join(cwd, 'package.json'))) continue;
  const report = join(out, `${project.replaceAll('/', '_')}.json`);
  console.log(`\n▶ ${project}`);
  const run = spawnSync(
    'pnpm',
    ['exec', 'vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, '--passWithNoTests'],
    { cwd, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' } },
  );
  if (!existsSync(report)) {
    console.error(`✗ ${project}: vitest exited ${run.status} without a report`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
  // A suite that fails to load (syntax error, missing module) has no failed tests but a failed file.
  const brokenFiles = r.testResults.filter((t) => t.status === 'failed' && t.assertionResults.length === 0).length;
  failed += brokenFiles;
  if (run.status !== 0 && r.numFailedTests === 0 && brokenFiles === 0) failed += 1;
}
rmSync(out, { recursive: true, force: true });
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
