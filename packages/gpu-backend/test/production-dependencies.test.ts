/**
 * The container installs production dependencies only (`pnpm install --prod`, Dockerfile), so every
 * package the server can import at run time must be a production dependency: a runtime import of a
 * devDependency (as test-model generation under COYO_GENERATE_TEST_MODELS=1 once imported onnx-proto)
 * works in the workspace and fails only in the image. This walks the import graph of every module the
 * image ships, static and dynamic imports alike, through the workspace packages it uses, and checks each
 * package it reaches against the dependencies of the package that imports it. The Dockerfile must copy
 * every workspace package in that graph.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES_DIR = resolve(PACKAGE_DIR, '..');
const BUILTINS = new Set(builtinModules);
const ManifestSchema = z.object({ name: z.string(), dependencies: z.record(z.string(), z.string()).default({}) });

/** The package name of a bare specifier (`@scope/name/sub` → `@scope/name`). */
function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

/** The sources a package ships to the image: everything under src/ but its tests. */
function shippedSources(dir: string): string[] {
  return readdirSync(join(dir, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|mjs)$/.test(f) && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(dir, 'src', f));
}

interface Reach {
  /** `importer package → imported package` for every bare import found. */
  imports: Array<{ from: string; file: string; pkg: string }>;
  /** Workspace packages the graph passes through (the server's own included). */
  workspace: Set<string>;
}

function reach(): Reach {
  const byName = new Map<string, string>();
  for (const entry of readdirSync(PACKAGES_DIR)) {
    const manifest = join(PACKAGES_DIR, entry, 'package.json');
    if (existsSync(manifest)) byName.set(ManifestSchema.parse(JSON.parse(readFileSync(manifest, 'utf8'))).name, join(PACKAGES_DIR, entry));
  }
  const own = ManifestSchema.parse(JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8'))).name;
  const result: Reach = { imports: [], workspace: new Set([own]) };
  const queue: Array<{ pkg: string; dir: string }> = [{ pkg: own, dir: PACKAGE_DIR }];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const file of shippedSources(next.dir)) {
      const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const { fileName: specifier } of info.importedFiles) {
        if (specifier.startsWith('.') || specifier.startsWith('node:') || BUILTINS.has(specifier)) continue;
        const pkg = packageOf(specifier);
        if (pkg === next.pkg) continue;
        result.imports.push({ from: next.pkg, file: relative(PACKAGES_DIR, file), pkg });
        const workspaceDir = byName.get(pkg);
        if (workspaceDir !== undefined && !result.workspace.has(pkg)) {
          result.workspace.add(pkg);
          queue.push({ pkg, dir: workspaceDir });
        }
      }
    }
  }
  return result;
}

function dependenciesOf(pkg: string): Set<string> {
  const dir = pkg === '@coyo/gpu-backend' ? PACKAGE_DIR : join(PACKAGES_DIR, pkg.replace('@coyo/', ''));
  return new Set(Object.keys(ManifestSchema.parse(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))).dependencies));
}

describe('what the image installs', () => {
  const graph = reach();

  it('finds the imports it checks, test-model generation among them', () => {
    expect(graph.imports.some((i) => i.pkg === 'onnx-proto')).toBe(true);
    expect(graph.workspace.has('@coyo/backend-protocol')).toBe(true);
  });

  it('has every package a shipped module imports as a production dependency of its importer', () => {
    const missing = graph.imports.filter(({ from, pkg }) => !dependenciesOf(from).has(pkg)).map(({ file, pkg }) => `${file} imports ${pkg}`);
    expect([...new Set(missing)]).toEqual([]);
  });

  it('copies every workspace package the server imports into the image', () => {
    const dockerfile = readFileSync(join(PACKAGE_DIR, 'Dockerfile'), 'utf8');
    for (const pkg of graph.workspace) {
      const folder = `packages/${pkg.replace('@coyo/', '')}`;
      expect(dockerfile, folder).toContain(`COPY ${folder}/package.json ${folder}/`);
      expect(dockerfile, folder).toContain(`COPY ${folder}/ ${folder}/`);
    }
  });
});
