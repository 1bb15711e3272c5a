/**
 * The README's examples, run as a newcomer would run them, against the real local stack (GPU backend
 * process + worker in workerd + local R2 holding a small ingested COYO sample).
 *
 * Which blocks run: a fenced ```sh or ```ts block whose previous non-blank line is an HTML comment
 *   `<!-- runnable -->`                        run from the repository root, or
 *   `<!-- runnable in an empty directory -->`  run from a fresh empty directory (the block writes files).
 * Every ```sh / ```ts block of the "Try it" section must carry one of them, so an example added there
 * is run too. A `sh` block runs in `bash -e`; a `ts` block is saved as `example.ts` and run with the
 * repository's `tsx` (what `npx tsx example.ts` runs), from a folder under `<repo>/.tmp/` so that
 * `@coyo/sdk` resolves as it does for a file in the repository root. Both get the stack's address and
 * key in `COYO_BASE_URL` / `COYO_API_KEY`, the variables the examples (and the SDK) read.
 *
 * A block passes when it exits 0, prints no problem+json status, prints something (from the root) or
 * leaves only non-empty files behind (from an empty directory), and its output carries every JSON field the README's own `# {…}` / `# […]` output comments show.
 */

import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliOk } from './coyo/cli.ts';
import { runProcess } from './harness/run.ts';
import { REPO_ROOT, startStack, type Stack } from './harness/stack.ts';

interface Example {
  lang: 'sh' | 'ts';
  /** `root`: from the repository root; `empty`: from a fresh empty directory. */
  where: 'root' | 'empty';
  code: string;
  /** 1-based line of the opening fence in README.md. */
  line: number;
}

const MARKERS: Record<string, Example['where']> = {
  '<!-- runnable -->': 'root',
  '<!-- runnable in an empty directory -->': 'empty',
};

/** The marked blocks of a Markdown text, and the unmarked sh/ts blocks between `from` and `to` headings. */
function readmeExamples(markdown: string, section: { from: string; to: string }): { examples: Example[]; unmarkedInSection: number[] } {
  const lines = markdown.split('\n');
  const examples: Example[] = [];
  const unmarkedInSection: number[] = [];
  let inSection = false;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] ?? '';
    if (text.startsWith('## ')) inSection = text === section.from ? true : text === section.to ? false : inSection;
    const fence = /^```(\w*)\s*$/.exec(text);
    if (fence === null) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`README.md:${i + 1}: unclosed code block`);
    let prev = i - 1;
    while (prev >= 0 && (lines[prev] ?? '').trim() === '') prev--;
    const where = MARKERS[(lines[prev] ?? '').trim()];
    const lang = fence[1];
    if (where !== undefined) {
      if (lang !== 'sh' && lang !== 'ts') throw new Error(`README.md:${i + 1}: a runnable block must be sh or ts, not ${JSON.stringify(lang)}`);
      examples.push({ lang, where, code: lines.slice(i + 1, end).join('\n'), line: i + 1 });
    } else if (inSection && (lang === 'sh' || lang === 'ts')) {
      unmarkedInSection.push(i + 1);
    }
    i = end;
  }
  return { examples, unmarkedInSection };
}

/** The JSON field names in the block's output comments (`# {"version":"…","row":{"id":…` → version, row, id). */
function documentedFields(code: string): string[] {
  const comments = code.split('\n').filter((l) => /^#\s*[[{]/.test(l));
  return [...new Set(comments.flatMap((c) => [...c.matchAll(/"(\w+)":/g)].map((m) => m[1] ?? '')))];
}

const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
const { examples, unmarkedInSection } = readmeExamples(readme, { from: '## Try it', to: '## Layout' });
const scratchRoot = join(REPO_ROOT, '.tmp');
let temp: string;
let stack: Stack | undefined;

beforeAll(async () => {
  temp = await mkdtemp(join(tmpdir(), 'coyo-readme-'));
  const persist = join(temp, 'state');
  await runCliOk(['sample', '--rows', '1000', '--seed', '11', '--files', '1', '--out', join(temp, 'sample')]);
  await runCliOk([
    'ingest', join(temp, 'sample'), '--target', 'local', '--config', join(REPO_ROOT, 'wrangler.toml'), '--persist', join(persist, 'v3'),
    '--work-dir', join(temp, 'work'), '--row-group-size', '128', '--shard-rows', '256', '--progress', 'none',
  ]);
  stack = await startStack({ persistDir: persist });
  await mkdir(scratchRoot, { recursive: true });
});

afterAll(async () => {
  await stack?.stop();
  if (temp) await rm(temp, { recursive: true, force: true });
});

async function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { status, stdout, stderr } = await runProcess(command, args, { cwd, env, timeout: 60_000 });
  return { code: status, stdout, stderr };
}

describe('README examples', () => {
  it('marks every sh/ts block of "Try it" as runnable, and has the SDK and shell examples among them', () => {
    expect(unmarkedInSection, 'README.md lines of unmarked blocks').toEqual([]);
    expect(examples.filter((e) => e.lang === 'sh').length).toBeGreaterThanOrEqual(2);
    expect(examples.filter((e) => e.lang === 'ts').length).toBeGreaterThanOrEqual(2);
  });

  it.each(examples.map((e) => [`README.md:${e.line} (${e.lang}, from ${e.where === 'root' ? 'the repository root' : 'an empty directory'})`, e] as const))(
    '%s runs as written',
    async (_name, example) => {
      if (stack === undefined) throw new Error('the stack did not start');
      const dir = await mkdtemp(join(scratchRoot, 'readme-'));
      try {
        const scratch = join(dir, 'work');
        await mkdir(scratch);
        const cwd = example.where === 'root' ? REPO_ROOT : scratch;
        const env = { ...process.env, COYO_BASE_URL: stack.workerUrl, COYO_API_KEY: stack.apiKey };
        let result;
        if (example.lang === 'sh') {
          result = await run('bash', ['-e', '-c', example.code], cwd, env);
        } else {
          // Beside the working directory, so the files the example writes are the only ones in it.
          const file = join(dir, 'example.ts');
          await writeFile(file, example.code);
          result = await run(join(REPO_ROOT, 'node_modules', '.bin', 'tsx'), [file], cwd, env);
        }
        const output = `exit ${String(result.code)}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
        expect(result.code, output).toBe(0);
        expect(result.stdout, output).not.toMatch(/"status":\s*[45]\d\d/);
        if (example.where === 'root') expect(result.stdout.trim(), output).not.toBe('');
        for (const field of documentedFields(example.code)) expect(result.stdout, `field "${field}" of the README's output comment`).toContain(`"${field}":`);
        if (example.where === 'empty') {
          const files = await readdir(scratch);
          expect(files.length, 'files the example wrote').toBeGreaterThan(0);
          for (const name of files) expect((await stat(join(scratch, name))).size, `size of ${name}`).toBeGreaterThan(0);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
