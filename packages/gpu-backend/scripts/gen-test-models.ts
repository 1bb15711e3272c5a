/**
 * `pnpm gen:models`: writes the generated test models (tiny, closed-form weights, meaningless
 * scores) in the layout of the real exports.
 *
 * Output directory, first match wins:
 *   --out <dir>        command-line flag
 *   MODELS_DIR         environment variable
 *   <repo root>/models default (git-ignored)
 *
 * Exits with status 1, writing nothing, when a target folder holds a real export.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { generateTestModels } from '../src/models/test-models.js';

export { generateTestModels } from '../src/models/test-models.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const EnvSchema = z.object({
  MODELS_DIR: z.string().min(1, 'MODELS_DIR must not be empty').optional(),
});

/** Resolves the output directory from the flag, then MODELS_DIR, then `<repo root>/models`. */
export function resolveOutDir(argv: string[], env: NodeJS.ProcessEnv): string {
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string' } }, strict: true });
  if (values.out !== undefined) return resolve(values.out);
  const parsed = EnvSchema.safeParse({ MODELS_DIR: env.MODELS_DIR });
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  return resolve(parsed.data.MODELS_DIR ?? resolve(REPO_ROOT, 'models'));
}

async function main(): Promise<void> {
  const outDir = resolveOutDir(process.argv.slice(2), process.env);
  const result = await generateTestModels(outDir);
  for (const file of result.written) console.log(`wrote     ${file}`);
  for (const file of result.unchanged) console.log(`unchanged ${file}`);
  console.log(`test models in ${outDir} (scores from these models are meaningless)`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
