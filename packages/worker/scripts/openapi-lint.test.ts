/**
 * Holds the OpenAPI document to what code generators and API linters expect: Redocly CLI (its
 * `recommended` rules, root `redocly.yaml`) and Spectral (`spectral:oas`) report nothing on the
 * committed `openapi.json` (kept equal to the routes by the drift test in `src/openapi.test.ts`);
 * every operation has a stable camelCase `operationId` and an example request and answer; and every
 * example (problem examples of error responses included) is accepted by the route's own zod schemas,
 * so none can drift from what the API takes and gives. Failures name the operation (`GET /v1/coyo/stats (coyoStats)`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { z } from '@hono/zod-openapi';
import { Document, Spectral, type RulesetDefinition } from '@stoplight/spectral-core';
import { Json } from '@stoplight/spectral-parsers';
import { oas } from '@stoplight/spectral-rulesets';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app';
import { openApiDocument, serializeOpenApi } from '../src/openapi';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SPEC_PATH = 'packages/worker/openapi.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Method = (typeof METHODS)[number];

const app = createApp();
const doc = openApiDocument(app);
const committedText = readFileSync(join(ROOT, SPEC_PATH), 'utf8');

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One operation of a document, as the messages name it. */
interface Operation {
  method: Method;
  path: string;
  op: Record<string, unknown>;
  name: string;
}

function operationsOf(document: unknown): Operation[] {
  const paths = isRecord(document) && isRecord(document.paths) ? document.paths : {};
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(paths)) {
    if (!isRecord(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isRecord(op)) continue;
      const id = typeof op.operationId === 'string' ? op.operationId : 'no operationId';
      out.push({ method, path, op, name: `${method.toUpperCase()} ${path} (${id})` });
    }
  }
  return out;
}

/** The operation a JSON pointer or path inside the document points into, named; else the location. */
function locate(document: unknown, segments: readonly (string | number)[]): string {
  const [head, path, method] = segments;
  if (head !== 'paths' || typeof path !== 'string') return `#/${segments.join('/')}`;
  const found = operationsOf(document).find((o) => o.path === path && o.method === method);
  const rest = segments.slice(found ? 3 : 2).join('/');
  return `${found?.name ?? path}${rest === '' ? '' : ` at ${rest}`}`;
}

function pointerSegments(pointer: string): string[] {
  return pointer
    .replace(/^#\//, '')
    .split('/')
    .map((s) => decodeURIComponent(s).replaceAll('~1', '/').replaceAll('~0', '~'));
}

const execFileAsync = promisify(execFile);
const redoclyCli = join(dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')), 'bin/cli.js');

const RedoclyReportSchema = z.object({
  totals: z.object({ errors: z.number(), warnings: z.number(), ignored: z.number() }),
  problems: z.array(
    z.object({
      ruleId: z.string(),
      severity: z.string(),
      message: z.string(),
      ignored: z.boolean().optional(),
      location: z.array(z.object({ pointer: z.string() })),
    }),
  ),
});

/**
 * Redocly CLI's `lint` on a file (path relative to the repository root, where `redocly.yaml` and its
 * ignore file live), one line per problem, the operation named.
 */
async function redoclyProblems(file: string, document: unknown): Promise<string[]> {
  const { stdout } = await execFileAsync(process.execPath, [redoclyCli, 'lint', file, '--config', 'redocly.yaml', '--format', 'json', '--max-problems', '1000'], {
    cwd: ROOT,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
    // lint exits 1 when it finds errors: the report on stdout is what counts.
  }).catch((err: unknown) => {
    if (isRecord(err) && typeof err.stdout === 'string' && err.stdout !== '') return { stdout: err.stdout };
    throw err;
  });
  const report = RedoclyReportSchema.parse(JSON.parse(stdout));
  return report.problems
    .filter((p) => p.ignored !== true)
    .map((p) => `redocly ${p.severity} ${p.ruleId}: ${locate(document, pointerSegments(p.location[0]?.pointer ?? '#'))}: ${p.message}`);
}

/** Spectral with `spectral:oas` (its recommended rules) on a document's text, one line per result. */
async function spectralProblems(text: string, document: unknown): Promise<string[]> {
  const spectral = new Spectral();
  // The package types its rulesets as plain objects, not as the RulesetDefinition they are.
  spectral.setRuleset({ extends: [[oas as RulesetDefinition, 'recommended']] });
  const results = await spectral.run(new Document(text, Json, SPEC_PATH));
  const severity = ['error', 'warn', 'info', 'hint'];
  return results.map((r) => `spectral ${severity[r.severity] ?? String(r.severity)} ${String(r.code)}: ${locate(document, r.path)}: ${r.message}`);
}

const hasExample = (media: unknown): boolean => isRecord(media) && (media.example !== undefined || (isRecord(media.examples) && Object.keys(media.examples).length > 0));
const isBinary = (media: unknown): boolean => isRecord(media) && isRecord(media.schema) && media.schema.format === 'binary';

/**
 * The rules the linters do not check: a camelCase operationId, unique; an example for every JSON
 * request body, every path or required parameter, and every 2xx answer with a body (on each of its
 * media types but raw binary ones).
 */
function houseRuleProblems(document: unknown): string[] {
  const problems: string[] = [];
  const seen = new Map<string, string>();
  for (const { op, name } of operationsOf(document)) {
    const id = op.operationId;
    if (typeof id !== 'string') problems.push(`${name}: no operationId; give createRoute an operationId (camelCase, the SDK method name where one exists)`);
    else if (!/^[a-z][a-zA-Z0-9]*$/.test(id)) problems.push(`${name}: operationId "${id}" is not camelCase`);
    else if (seen.has(id)) problems.push(`${name}: operationId "${id}" is also used by ${seen.get(id) ?? ''}`);
    else seen.set(id, name);

    const body = isRecord(op.requestBody) && isRecord(op.requestBody.content) ? op.requestBody.content : undefined;
    if (body?.['application/json'] !== undefined && !hasExample(body['application/json'])) problems.push(`${name}: the application/json request body has no example`);
    for (const p of Array.isArray(op.parameters) ? (op.parameters as unknown[]) : []) {
      if (!isRecord(p) || (p.in !== 'path' && p.required !== true)) continue;
      if (p.example === undefined && !(isRecord(p.schema) && p.schema.example !== undefined)) problems.push(`${name}: parameter ${String(p.name)} has no example`);
    }

    const responses = isRecord(op.responses) ? op.responses : {};
    for (const [status, response] of Object.entries(responses)) {
      if (!/^2\d\d$/.test(status) || !isRecord(response) || !isRecord(response.content)) continue;
      const media = Object.entries(response.content);
      if (!media.some(([, m]) => hasExample(m))) problems.push(`${name}: the ${status} response has no example`);
      for (const [type, m] of media) {
        if (!hasExample(m) && !isBinary(m)) problems.push(`${name}: the ${status} ${type} response has no example`);
      }
    }
  }
  return problems;
}

/** A parameter's example as a client sends it: text in the URL. */
function parameterExamples(op: Record<string, unknown>, location: 'path' | 'query'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of Array.isArray(op.parameters) ? (op.parameters as unknown[]) : []) {
    if (!isRecord(p) || p.in !== location || typeof p.name !== 'string') continue;
    const example = p.example ?? (isRecord(p.schema) ? p.schema.example : undefined);
    if (typeof example === 'string' || typeof example === 'number' || typeof example === 'boolean') out[p.name] = String(example);
  }
  return out;
}

function zodIssues(schema: unknown, value: unknown): string | undefined {
  if (!(schema instanceof z.ZodType)) return undefined;
  const parsed = schema.safeParse(value);
  return parsed.success ? undefined : z.prettifyError(parsed.error);
}

/** Every example of the document checked against the zod schema the route validates or answers with. */
function exampleProblems(): string[] {
  const problems: string[] = [];
  const routes = app.openAPIRegistry.definitions.flatMap((d) => (d.type === 'route' ? [d.route] : []));
  for (const { method, path, op, name } of operationsOf(doc)) {
    const route = routes.find((r) => r.method === method && r.path === path);
    if (route === undefined) {
      problems.push(`${name}: not found among the app's registered routes`);
      continue;
    }
    const check = (what: string, schema: unknown, value: unknown) => {
      const issues = zodIssues(schema, value);
      if (issues !== undefined) problems.push(`${name}: the ${what} example is refused by the route's schema:\n${issues}`);
    };
    /** Checks the `example` and every `examples` entry of a media type whose schema is zod. */
    const checkMedia = (what: string, media: unknown) => {
      if (!isRecord(media)) return;
      if (media.example !== undefined) check(what, media.schema, media.example);
      for (const [key, entry] of Object.entries(isRecord(media.examples) ? media.examples : {})) {
        if (isRecord(entry) && 'value' in entry) check(`${what} "${key}"`, media.schema, entry.value);
      }
    };
    checkMedia('request body', route.request?.body?.content['application/json']);
    if (route.request?.params) check('path parameter', route.request.params, parameterExamples(op, 'path'));
    if (route.request?.query) check('query parameter', route.request.query, parameterExamples(op, 'query'));
    for (const [status, response] of Object.entries(route.responses)) {
      if (!('content' in response)) continue;
      for (const [type, media] of Object.entries(response.content ?? {})) checkMedia(`${status} ${type} response`, media);
    }
  }
  return problems;
}

describe('OpenAPI document lint', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'openapi-lint-'));
  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('passes Redocly CLI’s recommended rules with no error or warning', async () => {
    expect(await redoclyProblems(SPEC_PATH, doc)).toEqual([]);
  });

  it('passes Spectral’s spectral:oas ruleset with no error or warning', async () => {
    expect(await spectralProblems(committedText, doc)).toEqual([]);
  });

  it('gives every operation a unique camelCase operationId and examples of its request and answer', () => {
    expect(houseRuleProblems(doc)).toEqual([]);
  });

  it('has examples every route accepts and answers as its zod schemas say', () => {
    expect(exampleProblems()).toEqual([]);
  });

  it('names the operation when an operationId or an example goes missing', async () => {
    const broken = structuredClone(doc);
    const stats = broken.paths?.['/v1/coyo/stats']?.get;
    const batch = broken.paths?.['/v1/coyo/batch']?.post?.requestBody;
    if (stats === undefined || batch === undefined || !('content' in batch)) throw new Error('test setup: the document lacks the COYO routes');
    delete stats.operationId;
    delete batch.content['application/json']?.example;
    const text = serializeOpenApi(broken);
    const file = join(scratch, 'openapi.json');
    writeFileSync(file, text);

    expect(houseRuleProblems(broken)).toEqual([
      'GET /v1/coyo/stats (no operationId): no operationId; give createRoute an operationId (camelCase, the SDK method name where one exists)',
      'POST /v1/coyo/batch (coyoBatch): the application/json request body has no example',
    ]);
    expect(await redoclyProblems(file, broken)).toContain(
      'redocly warn operation-operationId: GET /v1/coyo/stats (no operationId) at operationId: Operation object should contain `operationId` field.',
    );
    expect(await spectralProblems(text, broken)).toContain('spectral warn operation-operationId: GET /v1/coyo/stats (no operationId): Operation must have "operationId".');
  });
});
