import { env, exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';
import { problemOf, testApp } from '../test/helpers';
import { fieldErrorsFromZod, formatPath, problemBody, ProblemError, validationProblem } from './errors';

describe('errors', () => {
  it('answers unknown paths with a 404 problem', async () => {
    const res = await exports.default.fetch('https://api.test/nothing/here');
    expect(res.status).toBe(404);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ type: 'https://coyo-edge.dev/problems/not_found', title: 'Not found', status: 404 });
  });

  it('answers a wrong method with 405 and an Allow header', async () => {
    const res = await exports.default.fetch('https://api.test/healthz', { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/method_not_allowed');
  });

  it('answers a route path with a trailing slash, which no route serves, with 404 rather than 405', async () => {
    const res = await exports.default.fetch('https://api.test/healthz/');
    expect(res.status).toBe(404);
    expect(res.headers.get('allow')).toBeNull();
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/not_found');
  });

  it('turns an unexpected exception into a 500 problem that leaks nothing', async () => {
    const { app, request } = testApp(env);
    app.get('/boom', () => {
      throw new Error('secret internals');
    });
    const res = await request('/boom');
    expect(res.status).toBe(500);
    const problem = await problemOf(res);
    expect(problem.type).toBe('https://coyo-edge.dev/problems/internal');
    expect(JSON.stringify(problem)).not.toContain('secret');
    expect(problem.request_id).toBe(res.headers.get('x-request-id'));
  });

  it('renders a thrown ProblemError with its status and headers', async () => {
    const { app, request } = testApp(env);
    app.get('/limited', () => {
      throw new ProblemError('rate_limited', 'slow down', { headers: { 'retry-after': '3' } });
    });
    const res = await request('/limited');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('gives every 503 and 504 a Retry-After, whichever path threw it', async () => {
    const { app, request } = testApp(env);
    app.get('/unavailable', () => {
      throw new ProblemError('backend_unavailable', 'down');
    });
    app.get('/timeout', () => {
      throw new ProblemError('backend_timeout', 'stalled');
    });
    app.get('/http-503', () => {
      throw new HTTPException(503, { message: 'from other middleware' });
    });
    for (const path of ['/unavailable', '/timeout', '/http-503']) {
      const res = await request(path);
      expect(res.status).toBeGreaterThanOrEqual(503);
      const seconds = Number(res.headers.get('retry-after'));
      expect(Number.isInteger(seconds) && seconds >= 1).toBe(true);
    }
  });

  it('keeps the Retry-After a thrower chose over the default', async () => {
    const { app, request } = testApp(env);
    app.get('/unavailable', () => {
      throw new ProblemError('backend_unavailable', 'busy', { headers: { 'retry-after': '7' } });
    });
    expect((await request('/unavailable')).headers.get('retry-after')).toBe('7');
  });

  it('sends no Retry-After on problems that are not about coming back later', async () => {
    const { app, request } = testApp(env);
    app.get('/bad', () => {
      throw new ProblemError('backend_error', 'garbage');
    });
    const res = await request('/bad');
    expect(res.status).toBe(502);
    expect(res.headers.get('retry-after')).toBeNull();
  });

  it('answers a misconfigured deployment with a 500 problem', async () => {
    const { request } = testApp(env, { env: { BACKEND_URL: 'not a url' } });
    const res = await request('/healthz');
    expect(res.status).toBe(500);
    await problemOf(res);
  });

  it('formats field paths the way clients write them', () => {
    expect(formatPath(['images', 2, 'url'])).toBe('images[2].url');
    const result = z.object({ labels: z.array(z.string().min(1)) }).safeParse({ labels: ['a', ''] });
    expect(result.success).toBe(false);
    if (!result.success) expect(fieldErrorsFromZod(result.error, 'query')[0]).toMatchObject({ in: 'query', path: 'labels[1]' });
  });

  it('carries the problem in OpenAI\'s error shape, typed by status', async () => {
    const { app, request } = testApp(env);
    const cases = [
      ['unauthorized', 'authentication_error'],
      ['forbidden', 'permission_error'],
      ['not_found', 'not_found_error'],
      ['rate_limited', 'rate_limit_error'],
      ['payload_too_large', 'invalid_request_error'],
      ['backend_timeout', 'server_error'],
    ] as const;
    for (const [slug] of cases) {
      app.get(`/p/${slug}`, () => {
        throw new ProblemError(slug, `detail of ${slug}`);
      });
    }
    for (const [slug, type] of cases) {
      const problem = await problemOf(await request(`/p/${slug}`));
      expect(problem.error).toEqual({ message: `detail of ${slug}`, type, param: null, code: slug });
    }
  });

  it('names the first failing field as the OpenAI error param', () => {
    const problem = validationProblem([
      { in: 'body', path: 'input[1]', message: 'must not be empty' },
      { in: 'body', path: 'model', message: 'unknown' },
    ]);
    const body = problemBody(problem.slug, problem.message, 'r1', problem.errors);
    expect(body.error).toEqual({ message: '2 fields failed validation', type: 'invalid_request_error', param: 'input[1]', code: 'validation_failed' });
    expect(problemBody('validation_failed', 'x', 'r2', [{ in: 'body', path: '', message: 'unknown key' }]).error).toMatchObject({ param: null });
  });

  it('gives problems under /hf/ the Hugging Face error shape, the detail as a string', async () => {
    const res = await exports.default.fetch('https://api.test/hf/models/align-base', { method: 'POST' });
    expect(res.status).toBe(401);
    const problem = await problemOf(res);
    expect(problem.error).toBe(problem.detail);
    expect(problem.type).toBe('https://coyo-edge.dev/problems/unauthorized');
  });
});
