/**
 * `/docs`: the API reference, Swagger UI rendering this server's own `/openapi.json`. Swagger UI is
 * bundled into this page's script (no CDN), so the page works offline and under the strict
 * Content-Security-Policy of `_headers`.
 *
 * Two things are ours: "Try it out" sends requests to this origin (the spec lists the production
 * server first), and the Bearer key is the one the playground remembers — a key typed in either page
 * is there in the other.
 */
import SwaggerUI from 'swagger-ui-dist/swagger-ui-es-bundle.js';
import { loadApiKey, saveApiKey } from './api-key';

type Action = (...args: unknown[]) => unknown;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The names of the spec's HTTP Bearer security schemes (the API key). */
function bearerSchemes(spec: Record<string, unknown>): string[] {
  const schemes = isRecord(spec.components) && isRecord(spec.components.securitySchemes) ? spec.components.securitySchemes : {};
  return Object.entries(schemes)
    .filter(([, scheme]) => isRecord(scheme) && scheme.type === 'http' && typeof scheme.scheme === 'string' && scheme.scheme.toLowerCase() === 'bearer')
    .map(([name]) => name);
}

/** The spec with this origin as its first server, so "Try it out" calls the API that served the page. */
function withThisServer(spec: Record<string, unknown>, origin: string): Record<string, unknown> {
  const listed: unknown[] = Array.isArray(spec.servers) ? spec.servers : [];
  const servers = listed.filter((server) => !(isRecord(server) && server.url === origin));
  return { ...spec, servers: [{ url: origin, description: 'This server' }, ...servers] };
}

/**
 * A Swagger UI plugin that keeps the shared key slot in step with the Authorize dialog: authorizing a
 * Bearer scheme remembers its key, logging out of one forgets it.
 */
function sharedKeyPlugin(schemes: readonly string[]): () => object {
  const keyIn = (payload: unknown): string | undefined => {
    if (!isRecord(payload)) return undefined;
    for (const name of schemes) {
      const auth = payload[name];
      if (isRecord(auth) && typeof auth.value === 'string') return auth.value.trim();
    }
    return undefined;
  };
  return () => ({
    statePlugins: {
      auth: {
        wrapActions: {
          authorize: (original: Action) => (payload: unknown) => {
            const key = keyIn(payload);
            if (key !== undefined) saveApiKey(key);
            return original(payload);
          },
          logout: (original: Action) => (names: unknown) => {
            if (Array.isArray(names) && names.some((name) => typeof name === 'string' && schemes.includes(name))) saveApiKey('');
            return original(names);
          },
        },
      },
    },
  });
}

function element(id: string): HTMLElement {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`bug: #${id} is missing from docs.html`);
  return found;
}

async function loadSpec(): Promise<Record<string, unknown>> {
  const response = await fetch('/openapi.json', { headers: { Accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET /openapi.json answered ${response.status}`);
  const spec: unknown = await response.json();
  if (!isRecord(spec) || !isRecord(spec.paths)) throw new Error('/openapi.json is not an OpenAPI document');
  return spec;
}

async function main(): Promise<void> {
  const loading = element('loading');
  try {
    const spec = await loadSpec();
    const schemes = bearerSchemes(spec);
    // Swagger UI renders the spec, then calls onComplete: the remembered key is set after that.
    let markRendered: () => void = () => undefined;
    const rendered = new Promise<void>((resolve) => {
      markRendered = resolve;
    });
    const ui = SwaggerUI({
      domNode: element('swagger-ui'),
      spec: withThisServer(spec, location.origin),
      deepLinking: true,
      displayRequestDuration: true,
      // The ids generated clients name their methods after.
      displayOperationId: true,
      filter: true,
      // The online validator is another origin: never asked.
      validatorUrl: 'none',
      plugins: [sharedKeyPlugin(schemes)],
      onComplete: () => {
        markRendered();
      },
    });
    await rendered;
    const key = loadApiKey();
    if (key !== '') for (const scheme of schemes) ui.preauthorizeApiKey(scheme, key);
    loading.hidden = true;
    document.body.dataset.ready = 'true';
  } catch (error) {
    loading.hidden = true;
    const box = element('load-error');
    const strong = document.createElement('strong');
    strong.textContent = 'Could not load the API description';
    box.replaceChildren(strong, ` \u2014 ${error instanceof Error ? error.message : String(error)}`);
    box.hidden = false;
    document.body.dataset.ready = 'error';
  }
}

void main();
