/**
 * `coyo`: the API from a shell.
 *
 *   coyo zero-shot cat.jpg --labels cat,dog
 *   coyo classify cat.jpg --top-k 3 --table
 *   coyo embed --text "a cat" --image cat.jpg
 *   coyo get 2680060225205 --columns url,text
 *   coyo filter --min-aesthetic-score-laion-v2 6 --max 1000 --jsonl > rows.jsonl
 *
 * Reads COYO_BASE_URL and COYO_API_KEY (or --base-url / --api-key). Exit codes: 0 ok, 2 bad usage or
 * input, 3 authentication or permission, 4 not found, 5 rate limited, 6 connection or timeout, 1 any
 * other API error.
 */
import { parseArgs } from 'node:util';
import { Coyo, type CoyoColumn, type ImageInput } from './index.js';
import {
  APIConnectionError,
  AuthenticationError,
  CoyoError,
  CoyoInputError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from './errors.js';
import { fileFromPath } from './node.js';
import { VERSION } from './version.js';

const USAGE = `coyo ${VERSION}: the coyo-edge API from a shell

Usage:
  coyo zero-shot <image>... --labels cat,dog [--template "a photo of {}."]
  coyo classify <image>... [--top-k 5]
  coyo embed [--text "a cat"]... [--image cat.jpg]...
  coyo get <id> [--columns url,text]
  coyo filter [--min-<column> N] [--max-<column> N] [--columns url,text] [--max N] [--jsonl]
  coyo models | stats

<image> is a file path, an http(s) URL or "-" for standard input.
Options: --base-url URL (COYO_BASE_URL), --api-key KEY (COYO_API_KEY), --table, --jsonl, --help
Exit codes: 0 ok, 2 usage/input, 3 auth, 4 not found, 5 rate limited, 6 connection/timeout, 1 other.`;

/** The exit code of an error, by class. */
export function exitCode(error: unknown): number {
  if (error instanceof CoyoInputError) return 2;
  if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) return 3;
  if (error instanceof NotFoundError) return 4;
  if (error instanceof RateLimitError) return 5;
  if (error instanceof APIConnectionError) return 6;
  return 1;
}

async function image(arg: string): Promise<ImageInput> {
  if (/^(https?|data):/i.test(arg)) return arg;
  if (arg === '-') return process.stdin;
  return fileFromPath(arg);
}

function list(value: string | undefined): string[] | undefined {
  return value?.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Every column, checked against the generated types in both directions by `satisfies`. */
const COLUMNS = {
  id: true,
  url: true,
  text: true,
  width: true,
  height: true,
  image_phash: true,
  text_length: true,
  word_count: true,
  num_tokens_bert: true,
  num_tokens_gpt: true,
  num_faces: true,
  clip_similarity_vitb32: true,
  clip_similarity_vitl14: true,
  nsfw_score_opennsfw2: true,
  nsfw_score_gantman: true,
  watermark_score: true,
  aesthetic_score_laion_v2: true,
} satisfies Record<CoyoColumn, true>;

function columnList(value: string | undefined): CoyoColumn[] | undefined {
  const names = list(value);
  if (names === undefined) return undefined;
  return names.map((name) => {
    if (!isColumn(name)) throw new CoyoInputError(`unknown column ${JSON.stringify(name)}; columns: ${Object.keys(COLUMNS).join(', ')}`);
    return name;
  });
}

function isColumn(name: string): name is CoyoColumn {
  return Object.hasOwn(COLUMNS, name);
}

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new CoyoInputError(`--${name} must be a number, got ${JSON.stringify(value)}`);
  return n;
}

/** A plain text table of objects (the union of their keys as columns). */
function table(rows: readonly Record<string, unknown>[]): string {
  const keys = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const cell = (value: unknown) => (typeof value === 'number' ? String(Math.round(value * 1e4) / 1e4) : typeof value === 'string' ? value : JSON.stringify(value));
  const cells = rows.map((row) => keys.map((key) => cell(row[key]).replace(/\s+/g, ' ').slice(0, 80)));
  const widths = keys.map((key, i) => Math.max(key.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (values: readonly string[]) => values.map((value, i) => value.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function print(value: unknown, asTable: boolean): void {
  if (asTable) {
    const rows = Array.isArray(value) ? value.filter(isRecord) : isRecord(value) ? [value] : [];
    if (rows.length > 0) {
      process.stdout.write(`${table(rows)}\n`);
      return;
    }
  }
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

const OPTIONS = {
  labels: { type: 'string' },
  template: { type: 'string' },
  'top-k': { type: 'string' },
  text: { type: 'string', multiple: true },
  image: { type: 'string', multiple: true },
  columns: { type: 'string' },
  max: { type: 'string' },
  limit: { type: 'string' },
  jsonl: { type: 'boolean' },
  table: { type: 'boolean' },
  'base-url': { type: 'string' },
  'api-key': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

function parse(args: string[]) {
  return parseArgs({ args, allowPositionals: true, strict: true, options: OPTIONS });
}

/** Runs one command line; resolves with the exit code. */
export async function main(argv: string[], clientOptions: { fetch?: typeof fetch } = {}): Promise<number> {
  // `--min-<column> N` / `--max-<column> N` (or `=N`): filter predicates, one per column.
  const predicateArgs: [string, string | undefined][] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const match = /^--((?:min|max)-[a-z0-9-]+)(?:=(.*))?$/.exec(arg);
    if (match?.[1] === undefined) rest.push(arg);
    else predicateArgs.push([match[1], match[2] ?? argv[++i]]);
  }
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(rest);
  } catch (error) {
    process.stderr.write(`coyo: ${error instanceof Error ? error.message : String(error)}; see coyo --help\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const str = (name: keyof typeof OPTIONS): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const strs = (name: keyof typeof OPTIONS): string[] => {
    const value = values[name];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  };
  const [command, ...args] = positionals;
  if (values.version === true) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (values.help === true || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  try {
    const coyo = new Coyo({ baseURL: str('base-url'), apiKey: str('api-key'), ...clientOptions });
    const asTable = values.table === true;
    const columns = columnList(str('columns'));
    switch (command) {
      case 'zero-shot':
      case 'classify': {
        if (args.length === 0) throw new CoyoInputError(`${command} needs at least one image`);
        const images = await Promise.all(args.map(image));
        const [first] = images;
        if (command === 'zero-shot') {
          const labels = list(str('labels'));
          if (labels === undefined) throw new CoyoInputError('zero-shot needs --labels a,b,c');
          const template = str('template');
          const fields = { labels, ...(template === undefined ? {} : { hypothesis_template: template }) };
          print(images.length === 1 && first !== undefined ? await coyo.zeroShot({ image: first, ...fields }) : await coyo.zeroShot({ images, ...fields }), asTable);
        } else {
          const topK = number('top-k', str('top-k'));
          const fields = topK === undefined ? {} : { top_k: topK };
          print(images.length === 1 && first !== undefined ? await coyo.classify({ image: first, ...fields }) : await coyo.classify({ images, ...fields }), asTable);
        }
        return 0;
      }
      case 'embed': {
        const texts = [...strs('text'), ...args];
        const images = await Promise.all(strs('image').map(image));
        if (texts.length === 0 && images.length === 0) throw new CoyoInputError('embed needs --text or --image');
        print(await coyo.embeddings.create({ ...(texts.length > 0 ? { texts } : {}), ...(images.length > 0 ? { images } : {}) }), false);
        return 0;
      }
      case 'get': {
        const id = number('id', args[0]);
        if (id === undefined) throw new CoyoInputError('get needs an id');
        const found = await coyo.coyo.retrieve(id, columns === undefined ? {} : { columns });
        print(found.row, asTable);
        return 0;
      }
      case 'filter': {
        const predicates: Record<string, number> = {};
        for (const [name, value] of predicateArgs) {
          const n = number(name, value);
          if (n === undefined) throw new CoyoInputError(`--${name} needs a value`);
          predicates[name.replace(/-/g, '_')] = n;
        }
        const max = number('max', str('max')) ?? Infinity;
        const limit = number('limit', str('limit'));
        const params = { ...predicates, ...(columns === undefined ? {} : { columns }), ...(limit === undefined ? {} : { limit }) };
        const rows: unknown[] = [];
        let count = 0;
        let pages = 0;
        let scanned = 0;
        for await (const page of coyo.coyo.filter(params).pages()) {
          pages++;
          scanned += page.scanned_rows;
          for (const row of page.rows) {
            if (count >= max) break;
            count++;
            if (values.jsonl === true) process.stdout.write(`${JSON.stringify(row)}\n`);
            else rows.push(row);
          }
          process.stderr.write(`\rcoyo filter: ${String(count)} rows, ${String(pages)} pages, ${String(scanned)} scanned`);
          if (count >= max) break;
        }
        process.stderr.write('\n');
        if (values.jsonl !== true) print(rows, asTable);
        return 0;
      }
      case 'models':
        print((await coyo.models.list()).data, asTable);
        return 0;
      case 'stats':
        print(await coyo.coyo.stats(), false);
        return 0;
      default:
        throw new CoyoInputError(`unknown command ${JSON.stringify(command)}; see coyo --help`);
    }
  } catch (error) {
    if (!(error instanceof CoyoError)) throw error;
    const requestId = 'requestId' in error && typeof error.requestId === 'string' ? ` (request id ${error.requestId})` : '';
    process.stderr.write(`coyo: ${error.name}: ${error.message}${requestId}\n`);
    return exitCode(error);
  }
}
