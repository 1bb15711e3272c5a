/**
 * `/docs`: an interactive API reference rendered in the browser from `/openapi.json`: endpoints by
 * tag, parameters, request and response schemas (with `$ref`s resolved and linked), and a "try it"
 * form per operation that sends a real request with the key from the API key box.
 *
 * Self-written rather than Swagger UI so that it needs no static-asset pipeline or CDN and works
 * offline, and so that the spec is the only input: whatever routes the app registers appear here.
 * The script is a string (it runs in the browser) and avoids template literals so that this file's
 * own template strings cannot interpolate into it.
 */
import { renderPage, type RenderedPage } from './layout';

const BODY = `
<div class="docs">
  <aside class="side" aria-label="Endpoints">
    <div class="side-head">
      <input id="filter" type="search" placeholder="Filter endpoints" aria-label="Filter endpoints" spellcheck="false">
    </div>
    <nav id="endpoint-list" class="endpoint-list" aria-live="polite"></nav>
  </aside>
  <main class="content">
    <section id="intro" class="intro">
      <p class="loading" id="loading"><span class="spinner"></span> Loading <code>/openapi.json</code>&hellip;</p>
    </section>
    <section class="card auth" aria-labelledby="auth-title">
      <h2 id="auth-title">Authentication</h2>
      <p class="sub">Send <code>Authorization: Bearer &lt;key&gt;</code>. The key below is used by every &ldquo;Try it&rdquo;
      form on this page and by the <a href="/">playground</a>; it stays in this browser (localStorage).</p>
      <div class="row">
        <input id="api-key" type="password" autocomplete="off" spellcheck="false" placeholder="coyo_&hellip;" aria-label="API key">
        <button type="button" id="toggle-key" aria-pressed="false">Show</button>
      </div>
    </section>
    <div id="load-error" class="problem" role="alert" hidden></div>
    <div id="operations"></div>
    <section id="schemas" class="schemas" hidden>
      <h2 class="group-title">Schemas</h2>
      <div id="schema-list"></div>
    </section>
    <footer class="foot">Rendered from <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1) &middot; coyo-edge</footer>
  </main>
</div>
`;

const STYLE = `
.docs { display: grid; grid-template-columns: 290px minmax(0, 1fr); max-width: 1380px; margin: 0 auto; }
@media (max-width: 900px) { .docs { grid-template-columns: minmax(0, 1fr); } .side { position: static; height: auto; max-height: 50vh; } }
.side { position: sticky; top: 55px; height: calc(100vh - 55px); overflow: auto; border-right: 1px solid var(--border); padding: 18px 14px 30px; }
.side-head { margin-bottom: 12px; }
.endpoint-list h3 { margin: 16px 8px 6px; font-size: 11.5px; text-transform: uppercase; letter-spacing: .08em; color: var(--muted); }
.endpoint-list a { display: flex; align-items: center; gap: 8px; padding: 5px 8px; border-radius: 8px; color: var(--text); font-size: 13px; }
.endpoint-list a:hover { background: var(--panel-2); text-decoration: none; }
.endpoint-list a .method { min-width: 46px; font-size: 10px; line-height: 1.8; }
.endpoint-list a code { font-size: 12.5px; overflow-wrap: anywhere; }
.content { padding: 26px 30px 0; min-width: 0; }
.intro h1 { margin: 0 0 6px; font-size: 30px; letter-spacing: -.02em; }
.intro .desc { color: var(--muted); max-width: 820px; white-space: pre-line; }
.intro .pills { display: flex; gap: 6px; margin: 8px 0 10px; }
.loading { color: var(--muted); }
.auth { margin: 18px 0 26px; }
.auth .row { max-width: 560px; }
.group-title { margin: 34px 0 12px; font-size: 20px; letter-spacing: -.01em; }
.op { margin: 0 0 18px; }
.op-head { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.op-head code.path { font-size: 15px; font-weight: 600; overflow-wrap: anywhere; }
.op-head .summary { color: var(--muted); }
.op-head .lock { margin-left: auto; }
.op .description { margin: 10px 0 0; white-space: pre-line; }
.op h4 { margin: 18px 0 8px; font-size: 12px; text-transform: uppercase; letter-spacing: .07em; color: var(--muted); }
table.params { width: 100%; border-collapse: collapse; font-size: 13.5px; }
table.params th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; padding: 6px 10px; border-bottom: 1px solid var(--border); }
table.params td { padding: 7px 10px; border-bottom: 1px solid var(--border); vertical-align: top; }
.req { color: var(--danger); font-weight: 700; margin-left: 2px; }
.type { font-family: var(--mono); font-size: 12.5px; color: var(--accent); }
.type a { color: inherit; text-decoration: underline dotted; }
.constraint { font-family: var(--mono); font-size: 11.5px; color: var(--muted); margin-left: 6px; }
.schema { border-left: 2px solid var(--border); padding-left: 12px; margin: 4px 0 4px 2px; }
.prop { padding: 4px 0; font-size: 13.5px; }
.prop > .name { font-family: var(--mono); font-weight: 600; }
.prop .pdesc { color: var(--muted); margin-left: 6px; }
.variants { font-size: 12px; color: var(--muted); margin: 4px 0; }
details.sub > summary { cursor: pointer; color: var(--muted); font-size: 12.5px; }
.responses .resp { padding: 8px 0; border-bottom: 1px solid var(--border); }
.responses .resp:last-child { border-bottom: 0; }
.status { display: inline-block; font-family: var(--mono); font-weight: 700; min-width: 40px; }
.status.s2 { color: var(--ok); } .status.s3 { color: var(--accent); } .status.s4 { color: var(--warn); } .status.s5 { color: var(--danger); }
.ctype { margin-left: 8px; }
details.try { margin-top: 16px; border: 1px solid var(--border); border-radius: 12px; background: var(--panel-2); }
details.try > summary { cursor: pointer; padding: 10px 14px; font-weight: 600; }
details.try[open] > summary { border-bottom: 1px solid var(--border); }
.try-body { padding: 14px; display: grid; gap: 12px; }
.try-body .field { margin: 0; }
.try-body .parts { display: grid; gap: 12px; }
.try-body .field > label { display: block; font-weight: 600; font-size: 12.5px; margin-bottom: 4px; }
.try-body input, .try-body textarea, .try-body select { background: var(--panel); }
.try-actions { display: flex; gap: 10px; align-items: center; }
.try-result { display: grid; gap: 8px; }
.try-status { font-family: var(--mono); font-size: 13px; }
pre.code { margin: 0; padding: 12px 14px; background: var(--panel); border: 1px solid var(--border); border-radius: 10px;
  overflow: auto; max-height: 420px; font-size: 12.5px; line-height: 1.55; white-space: pre; }
.schemas .card { margin-bottom: 14px; }
.schemas h3 { margin: 0 0 6px; font-family: var(--mono); font-size: 15px; }
:target { scroll-margin-top: 70px; }
.op:target, .schemas .card:target { outline: 2px solid var(--accent); outline-offset: 2px; }
.hidden-by-filter { display: none !important; }
`;

const SCRIPT = `
const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];
const SHOWN_HEADERS = ['content-type', 'x-request-id', 'x-cache', 'ratelimit', 'ratelimit-policy', 'retry-after', 'cache-control', 'etag'];
const BACKTICK = '\\x60';
const keyInput = document.getElementById('api-key');
let spec = null;

function storageGet(key) {
  try { return localStorage.getItem(key); } catch (e) { return null; }
}
function storageSet(key, value) {
  try {
    if (value) localStorage.setItem(key, value); else localStorage.removeItem(key);
  } catch (e) { /* storage disabled */ }
}
keyInput.value = storageGet(API_KEY_STORAGE_KEY) || '';
keyInput.addEventListener('input', () => storageSet(API_KEY_STORAGE_KEY, keyInput.value.trim()));
document.getElementById('toggle-key').addEventListener('click', (event) => {
  const show = keyInput.type === 'password';
  keyInput.type = show ? 'text' : 'password';
  event.currentTarget.textContent = show ? 'Hide' : 'Show';
  event.currentTarget.setAttribute('aria-pressed', String(show));
});

/** Creates an element: h('div', { className: 'x', dataset: {...} }, child, 'text', ...). */
function h(tag, props) {
  const el = document.createElement(tag);
  if (props) {
    Object.keys(props).forEach((name) => {
      const value = props[name];
      if (value === undefined || value === null || value === false) return;
      if (name === 'dataset') Object.assign(el.dataset, value);
      else if (name === 'className' || name === 'textContent' || name === 'value' || name === 'type' || name === 'open' || name === 'hidden') el[name] = value;
      else el.setAttribute(name, value === true ? '' : String(value));
    });
  }
  for (let i = 2; i < arguments.length; i++) append(el, arguments[i]);
  return el;
}
function append(el, child) {
  if (child === undefined || child === null || child === false) return;
  if (Array.isArray(child)) { child.forEach((c) => append(el, c)); return; }
  el.append(child instanceof Node ? child : document.createTextNode(String(child)));
}

/** Plain text with inline code spans (backticks) and bare links; never parsed as HTML. */
function richText(text) {
  const out = [];
  String(text).split(BACKTICK).forEach((part, i) => {
    if (i % 2 === 1) { out.push(h('code', null, part)); return; }
    part.split(/(https?:[/][/][^\\s)]+)/).forEach((piece, j) => {
      if (j % 2 === 1) out.push(h('a', { href: piece, rel: 'noopener noreferrer' }, piece));
      else if (piece) out.push(piece);
    });
  });
  return out;
}

function refName(ref) { return decodeURIComponent(String(ref).split('/').pop()); }
function resolveRef(ref) {
  if (typeof ref !== 'string' || ref.indexOf('#/') !== 0) return null;
  let node = spec;
  const parts = ref.slice(2).split('/');
  for (let i = 0; i < parts.length; i++) {
    if (node === null || typeof node !== 'object') return null;
    node = node[parts[i].replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return node === undefined ? null : node;
}
/** Follows $refs (and remembers the last name) until a concrete schema object. */
function deref(schema) {
  let current = schema;
  let name = null;
  const seen = new Set();
  while (current && typeof current === 'object' && typeof current.$ref === 'string' && !seen.has(current.$ref)) {
    seen.add(current.$ref);
    name = refName(current.$ref);
    current = resolveRef(current.$ref);
  }
  return { schema: current || {}, name: name };
}
function schemaAnchor(name) { return 'schema-' + name.replace(/[^A-Za-z0-9_-]/g, '_'); }

function typeList(schema) {
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  if (schema.properties) return ['object'];
  if (schema.items) return ['array'];
  return [];
}

/** A one-line type: 'string<uri>', 'array<Label>', 'A | B', 'integer | null' … with $ref names linked. */
function typeLabel(input, depth) {
  const resolved = deref(input);
  const schema = resolved.schema;
  if (resolved.name && (depth || 0) > 0) return [h('a', { href: '#' + schemaAnchor(resolved.name) }, resolved.name)];
  const variants = schema.oneOf || schema.anyOf;
  if (Array.isArray(variants)) {
    const out = [];
    variants.forEach((v, i) => { if (i > 0) out.push(' | '); out.push(typeLabel(v, (depth || 0) + 1)); });
    return out;
  }
  if (Array.isArray(schema.allOf)) {
    const out = [];
    schema.allOf.forEach((v, i) => { if (i > 0) out.push(' & '); out.push(typeLabel(v, (depth || 0) + 1)); });
    return out;
  }
  if (schema.const !== undefined) return [JSON.stringify(schema.const)];
  const types = typeList(schema);
  if (types.length === 0) return [resolved.name || 'any'];
  const out = [];
  types.forEach((t, i) => {
    if (i > 0) out.push(' | ');
    if (t === 'array' && schema.items) { out.push('array<'); out.push(typeLabel(schema.items, (depth || 0) + 1)); out.push('>'); }
    else out.push(t + (t !== 'null' && schema.format ? '<' + schema.format + '>' : ''));
  });
  if (schema.nullable) out.push(' | null');
  return out;
}

function constraints(schema) {
  const parts = [];
  if (Array.isArray(schema.enum)) parts.push('one of ' + schema.enum.map((v) => JSON.stringify(v)).join(', '));
  if (schema.minimum !== undefined) parts.push('\\u2265 ' + schema.minimum);
  if (typeof schema.exclusiveMinimum === 'number') parts.push('> ' + schema.exclusiveMinimum);
  if (schema.maximum !== undefined) parts.push('\\u2264 ' + schema.maximum);
  if (typeof schema.exclusiveMaximum === 'number') parts.push('< ' + schema.exclusiveMaximum);
  if (schema.minLength !== undefined) parts.push('min length ' + schema.minLength);
  if (schema.maxLength !== undefined) parts.push('max length ' + schema.maxLength);
  if (schema.minItems !== undefined) parts.push('min items ' + schema.minItems);
  if (schema.maxItems !== undefined) parts.push('max items ' + schema.maxItems);
  if (schema.pattern) parts.push('pattern ' + schema.pattern);
  if (schema.default !== undefined) parts.push('default ' + JSON.stringify(schema.default));
  return parts.length ? h('span', { className: 'constraint' }, parts.join(' \\u00b7 ')) : null;
}

/** The structure of a schema as nested property lists; $refs deeper than the top link to /docs#schema-X. */
function schemaTree(input, depth, stack) {
  const resolved = deref(input);
  const schema = resolved.schema;
  stack = stack || [];
  if (resolved.name && (depth > 0 || stack.indexOf(resolved.name) >= 0)) return null;
  const box = h('div', { className: 'schema' });
  const variants = schema.oneOf || schema.anyOf;
  if (Array.isArray(variants)) {
    box.append(h('div', { className: 'variants' }, schema.oneOf ? 'exactly one of:' : 'any of:'));
    variants.forEach((v, i) => {
      const sub = schemaTree(v, depth + 1, stack);
      const label = h('div', { className: 'prop' }, h('span', { className: 'name' }, 'option ' + (i + 1)), ' ', h('span', { className: 'type' }, typeLabel(v, 1)));
      box.append(label);
      if (sub) box.append(sub);
    });
    return box;
  }
  const parts = Array.isArray(schema.allOf) ? schema.allOf.map((s) => deref(s).schema) : [schema];
  let any = false;
  parts.forEach((part) => {
    const target = typeList(part).indexOf('array') >= 0 && part.items ? deref(part.items).schema : part;
    const props = target.properties || {};
    const required = Array.isArray(target.required) ? target.required : [];
    Object.keys(props).forEach((name) => {
      any = true;
      const prop = props[name];
      const concrete = deref(prop).schema;
      const row = h('div', { className: 'prop' },
        h('span', { className: 'name' }, name), required.indexOf(name) >= 0 ? h('span', { className: 'req', title: 'required' }, '*') : null,
        ' ', h('span', { className: 'type' }, typeLabel(prop, 1)), constraints(concrete),
        concrete.description || prop.description ? h('span', { className: 'pdesc' }, richText(prop.description || concrete.description)) : null);
      box.append(row);
      const child = depth < 4 ? schemaTree(prop, depth + 1, stack.concat(resolved.name ? [resolved.name] : [])) : null;
      if (child && child.childNodes.length > 0) box.append(child);
    });
  });
  if (!any && depth === 0) {
    box.append(h('div', { className: 'prop' }, h('span', { className: 'type' }, typeLabel(input, 0)), constraints(schema),
      schema.description ? h('span', { className: 'pdesc' }, richText(schema.description)) : null));
  }
  return any || depth === 0 ? box : null;
}

/** A plausible example value for a schema, for the try-it body. */
function exampleFor(input, depth) {
  const schema = deref(input).schema;
  depth = depth || 0;
  if (depth > 6) return null;
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.const !== undefined) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const variants = schema.oneOf || schema.anyOf;
  if (Array.isArray(variants) && variants.length > 0) {
    const first = variants.find((v) => typeList(deref(v).schema).indexOf('null') < 0) || variants[0];
    return exampleFor(first, depth + 1);
  }
  if (Array.isArray(schema.allOf)) {
    return schema.allOf.reduce((acc, part) => {
      const value = exampleFor(part, depth + 1);
      return value && typeof value === 'object' && !Array.isArray(value) ? Object.assign(acc, value) : acc;
    }, {});
  }
  const type = typeList(schema).filter((t) => t !== 'null')[0];
  if (type === 'object' || schema.properties) {
    const props = schema.properties || {};
    const required = Array.isArray(schema.required) ? schema.required : [];
    const names = required.length > 0 ? Object.keys(props).filter((n) => required.indexOf(n) >= 0) : Object.keys(props);
    const out = {};
    names.forEach((n) => { out[n] = exampleFor(props[n], depth + 1); });
    return out;
  }
  if (type === 'array') {
    const count = Math.max(1, Math.min(3, schema.minItems || 1));
    const items = [];
    for (let i = 0; i < count; i++) items.push(exampleFor(schema.items || {}, depth + 1));
    return items;
  }
  if (type === 'integer' || type === 'number') {
    if (typeof schema.minimum === 'number') return schema.minimum;
    if (typeof schema.exclusiveMinimum === 'number') return schema.exclusiveMinimum + 1;
    return 0;
  }
  if (type === 'boolean') return false;
  if (type === 'string') {
    if (schema.format === 'uri' || schema.format === 'url') return 'https://example.com/image.jpg';
    if (schema.format === 'date-time') return new Date().toISOString();
    if (schema.format === 'uuid') return '00000000-0000-4000-8000-000000000000';
    return 'string';
  }
  return null;
}

function opAnchor(op) {
  return 'op-' + (op.operation.operationId || (op.method + op.path)).replace(/[^A-Za-z0-9_-]+/g, '-');
}

function collectOperations() {
  const ops = [];
  const paths = spec.paths || {};
  Object.keys(paths).forEach((path) => {
    const item = paths[path] || {};
    METHODS.forEach((method) => {
      const operation = item[method];
      if (!operation) return;
      const params = (item.parameters || []).concat(operation.parameters || []).map((p) => deref(p).schema);
      const tag = (operation.tags && operation.tags[0]) || ('/' + (path.split('/').filter(Boolean)[0] || ''));
      ops.push({ path: path, method: method, operation: operation, params: params, tag: tag });
    });
  });
  return ops;
}

function requiresAuth(op) {
  const security = op.operation.security !== undefined ? op.operation.security : spec.security;
  return Array.isArray(security) && security.some((req) => req && Object.keys(req).length > 0);
}

function renderIntro() {
  const info = spec.info || {};
  const intro = document.getElementById('intro');
  intro.replaceChildren(
    h('h1', null, info.title || 'API reference'),
    h('div', { className: 'pills' },
      info.version ? h('span', { className: 'pill' }, 'v' + info.version) : null,
      spec.openapi ? h('span', { className: 'pill' }, 'OpenAPI ' + spec.openapi) : null,
      h('a', { className: 'pill', href: '/openapi.json' }, 'openapi.json')),
    info.description ? h('p', { className: 'desc' }, richText(info.description)) : null);
  document.title = (info.title || 'API') + ' \\u2014 reference';
}

function renderNav(ops) {
  const nav = document.getElementById('endpoint-list');
  nav.replaceChildren();
  let lastTag = null;
  ops.forEach((op) => {
    if (op.tag !== lastTag) { nav.append(h('h3', { dataset: { tag: op.tag } }, op.tag)); lastTag = op.tag; }
    nav.append(h('a', { href: '#' + opAnchor(op), className: 'endpoint', dataset: { method: op.method.toUpperCase(), path: op.path, tag: op.tag } },
      h('span', { className: 'method ' + op.method }, op.method), h('code', null, op.path)));
  });
}

function renderParams(op) {
  if (op.params.length === 0) return null;
  return [h('h4', null, 'Parameters'), h('table', { className: 'params' },
    h('thead', null, h('tr', null, h('th', null, 'name'), h('th', null, 'in'), h('th', null, 'type'), h('th', null, 'description'))),
    h('tbody', null, op.params.map((p) => {
      const schema = deref(p.schema || {}).schema;
      return h('tr', null,
        h('td', null, h('code', null, p.name), p.required ? h('span', { className: 'req', title: 'required' }, '*') : null),
        h('td', null, p.in),
        h('td', null, h('span', { className: 'type' }, typeLabel(p.schema || {}, 1)), constraints(schema)),
        h('td', null, richText(p.description || schema.description || '')));
    })))];
}

function renderBody(op) {
  const body = op.operation.requestBody ? deref(op.operation.requestBody).schema : null;
  if (!body || !body.content) return null;
  const blocks = [h('h4', null, 'Request body' + (body.required ? '' : ' (optional)'))];
  if (body.description) blocks.push(h('p', null, richText(body.description)));
  Object.keys(body.content).forEach((type) => {
    const media = body.content[type] || {};
    blocks.push(h('div', null, h('span', { className: 'pill' }, type)));
    if (media.schema) blocks.push(schemaTree(media.schema, 0, []));
  });
  return blocks;
}

function renderResponses(op) {
  const responses = op.operation.responses || {};
  return [h('h4', null, 'Responses'), h('div', { className: 'responses' }, Object.keys(responses).map((code) => {
    const response = deref(responses[code]).schema;
    const content = response.content || {};
    const types = Object.keys(content);
    const schema = types.length > 0 ? content[types[0]].schema : null;
    const head = h('div', null, h('span', { className: 'status s' + String(code).charAt(0) }, code), ' ',
      richText(response.description || ''), types.map((t) => h('span', { className: 'pill ctype' }, t)));
    if (!schema) return h('div', { className: 'resp', dataset: { status: code } }, head);
    return h('div', { className: 'resp', dataset: { status: code } }, head,
      h('details', { className: 'sub' }, h('summary', null, 'schema: ', h('span', { className: 'type' }, typeLabel(schema, 1))), schemaTree(schema, 0, [])));
  }))];
}

function shellQuote(text) { return "'" + String(text).replace(/'/g, "'\\\\''") + "'"; }

/** Whether a schema describes file bytes (a binary string, or an array of them). */
function isBinary(schema) {
  const s = deref(schema || {}).schema;
  if (s.format === 'binary' || s.contentMediaType) return true;
  return typeList(s).indexOf('array') >= 0 && !!s.items && isBinary(s.items);
}

/**
 * One input panel per way of sending the body (JSON text, multipart fields, raw file). Each panel
 * knows how to put its value into the fetch init and the equivalent curl command.
 */
function bodyPanels(op, content) {
  const panels = [];
  let rawDone = false;
  Object.keys(content).forEach((type) => {
    const media = content[type] || {};
    const idBase = opAnchor(op) + '-' + panels.length;
    if (/json/i.test(type)) {
      const area = h('textarea', { rows: 9, spellcheck: 'false', id: idBase + '-json' });
      const named = media.examples && typeof media.examples === 'object' ? Object.keys(media.examples).map((k) => media.examples[k]).find((e) => e && e.value !== undefined) : undefined;
      const example = media.example !== undefined ? media.example : (named ? named.value : exampleFor(media.schema || {}));
      area.value = JSON.stringify(example, null, 2);
      panels.push({
        label: 'JSON (' + type + ')',
        element: h('div', { className: 'field' }, h('label', { for: area.id }, 'Body ', h('span', { className: 'hint' }, '(' + type + ')')), area),
        apply: (init, headers, curlParts) => {
          let parsed;
          try { parsed = JSON.parse(area.value); } catch (e) { return 'The body is not valid JSON: ' + e.message; }
          headers['Content-Type'] = type;
          init.body = area.value;
          curlParts.push('-H ' + shellQuote('Content-Type: ' + type) + ' -d ' + shellQuote(JSON.stringify(parsed)));
          return null;
        },
      });
    } else if (/multipart[/]form-data/i.test(type)) {
      const schema = deref(media.schema || {}).schema;
      const props = schema.properties || {};
      const required = Array.isArray(schema.required) ? schema.required : [];
      const parts = Object.keys(props).map((name) => {
        const binary = isBinary(props[name]);
        const id = idBase + '-part-' + name;
        const input = binary
          ? h('input', { id: id, type: 'file', accept: 'image/*', multiple: typeList(deref(props[name]).schema).indexOf('array') >= 0 })
          : h('input', { id: id, type: 'text', spellcheck: 'false', placeholder: required.indexOf(name) >= 0 ? 'required' : 'optional' });
        return { name: name, binary: binary, input: input,
          element: h('div', { className: 'field' }, h('label', { for: id }, name + ' ', h('span', { className: 'hint' }, binary ? '(file part)' : '(field)')), input) };
      });
      panels.push({
        label: 'Form with file (' + type + ')',
        element: h('div', { className: 'parts' }, parts.map((part) => part.element)),
        apply: (init, headers, curlParts) => {
          const data = new FormData();
          parts.forEach((part) => {
            if (part.binary) Array.from(part.input.files || []).forEach((file) => {
              data.append(part.name, file);
              curlParts.push('-F ' + shellQuote(part.name + '=@' + file.name));
            });
            else if (part.input.value.trim()) {
              data.append(part.name, part.input.value.trim());
              curlParts.push('-F ' + shellQuote(part.name + '=' + part.input.value.trim()));
            }
          });
          init.body = data;
          return null;
        },
      });
    } else if (!rawDone) {
      rawDone = true;
      const input = h('input', { id: idBase + '-raw', type: 'file', accept: /^image[/]/i.test(type) ? 'image/*' : '' });
      panels.push({
        label: 'Raw file (' + Object.keys(content).filter((t) => !/json|multipart/i.test(t)).join(', ') + ')',
        element: h('div', { className: 'field' }, h('label', { for: input.id }, 'File ', h('span', { className: 'hint' }, '(sent as the whole body)')), input),
        apply: (init, headers, curlParts) => {
          const file = input.files && input.files[0];
          if (!file) return 'Choose a file to send.';
          headers['Content-Type'] = file.type || 'application/octet-stream';
          init.body = file;
          curlParts.push('-H ' + shellQuote('Content-Type: ' + headers['Content-Type']) + ' --data-binary ' + shellQuote('@' + file.name));
          return null;
        },
      });
    }
  });
  return panels;
}

function renderTry(op) {
  const inputs = {};
  const fields = [];
  op.params.filter((p) => p.in === 'path' || p.in === 'query' || (p.in === 'header' && String(p.name).toLowerCase() !== 'authorization')).forEach((p) => {
    const schema = deref(p.schema || {}).schema;
    const example = p.example !== undefined ? p.example : (p.in === 'path' ? exampleFor(schema) : '');
    const id = opAnchor(op) + '-p-' + p.in + '-' + p.name;
    const input = h('input', { id: id, type: 'text', spellcheck: 'false', placeholder: p.required ? 'required' : 'optional', value: example === null || example === undefined ? '' : String(example) });
    inputs[p.in + ':' + p.name] = { param: p, input: input };
    fields.push(h('div', { className: 'field' }, h('label', { for: id }, p.name + ' ', h('span', { className: 'hint' }, '(' + p.in + ')')), input));
  });
  const body = op.operation.requestBody ? deref(op.operation.requestBody).schema : null;
  const content = body && body.content ? body.content : {};
  const panels = bodyPanels(op, content);
  let selectedPanel = panels[0] || null;
  if (panels.length > 1) {
    const select = h('select', { id: opAnchor(op) + '-kind' }, panels.map((panel, i) => h('option', { value: String(i) }, panel.label)));
    select.addEventListener('change', () => {
      selectedPanel = panels[Number(select.value)];
      panels.forEach((panel) => { panel.element.hidden = panel !== selectedPanel; });
    });
    fields.push(h('div', { className: 'field' }, h('label', { for: select.id }, 'Body type'), select));
  }
  panels.forEach((panel, i) => { panel.element.hidden = i !== 0; fields.push(panel.element); });
  const send = h('button', { className: 'primary', type: 'submit' }, 'Send request');
  const status = h('span', { className: 'try-status' });
  const result = h('div', { className: 'try-result' });
  const curl = h('pre', { className: 'code curl', hidden: true });
  const form = h('form', { className: 'try-body', novalidate: true }, fields, h('div', { className: 'try-actions' }, send, status), result, curl);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let path = op.path;
    const query = new URLSearchParams();
    const headers = { 'Accept': 'application/json, application/problem+json' };
    for (const k of Object.keys(inputs)) {
      const entry = inputs[k];
      const value = entry.input.value.trim();
      if (!value) continue;
      if (entry.param.in === 'path') path = path.split('{' + entry.param.name + '}').join(encodeURIComponent(value));
      else if (entry.param.in === 'query') query.set(entry.param.name, value);
      else headers[entry.param.name] = value;
    }
    const url = path + (query.toString() ? '?' + query.toString() : '');
    const key = keyInput.value.trim();
    if (key) headers['Authorization'] = 'Bearer ' + key;
    const init = { method: op.method.toUpperCase(), headers: headers };
    const curlParts = ['curl -sS -X ' + init.method + ' ' + shellQuote(location.origin + url)];
    if (key) curlParts.push('-H ' + shellQuote('Authorization: Bearer ') + '"$COYO_API_KEY"');
    if (selectedPanel) {
      const problem = selectedPanel.apply(init, headers, curlParts);
      if (problem) { status.textContent = problem; return; }
    }
    curl.textContent = curlParts.join(' \\\\\\n  ');
    curl.hidden = false;
    send.disabled = true;
    status.replaceChildren(h('span', { className: 'spinner' }), ' sending\\u2026');
    const started = performance.now();
    try {
      const response = await fetch(url, init);
      const text = await response.text();
      const elapsed = Math.round(performance.now() - started);
      status.replaceChildren(h('span', { className: 'status s' + String(response.status).charAt(0) }, String(response.status)), ' ' + response.statusText + ' \\u00b7 ' + elapsed + ' ms');
      const shown = SHOWN_HEADERS.filter((name) => response.headers.has(name)).map((name) => name + ': ' + response.headers.get(name)).join('\\n');
      let pretty = text;
      try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON: shown as is */ }
      result.replaceChildren(shown ? h('pre', { className: 'code headers' }, shown) : null, h('pre', { className: 'code response' }, pretty || '(empty body)'));
    } catch (error) {
      status.textContent = 'Network error: ' + (error && error.message ? error.message : String(error));
      result.replaceChildren();
    } finally {
      send.disabled = false;
    }
  });
  return h('details', { className: 'try' }, h('summary', null, 'Try it'), form);
}

function renderOperations(ops) {
  const container = document.getElementById('operations');
  container.replaceChildren();
  let lastTag = null;
  ops.forEach((op) => {
    if (op.tag !== lastTag) { container.append(h('h2', { className: 'group-title', dataset: { tag: op.tag } }, op.tag)); lastTag = op.tag; }
    const o = op.operation;
    container.append(h('section', { className: 'card op', id: opAnchor(op), dataset: { method: op.method.toUpperCase(), path: op.path, tag: op.tag } },
      h('div', { className: 'op-head' },
        h('span', { className: 'method ' + op.method }, op.method), h('code', { className: 'path' }, op.path),
        o.summary ? h('span', { className: 'summary' }, o.summary) : null,
        requiresAuth(op) ? h('span', { className: 'pill lock', title: 'needs Authorization: Bearer <key>' }, 'API key') : h('span', { className: 'pill lock' }, 'public'),
        o.deprecated ? h('span', { className: 'pill' }, 'deprecated') : null),
      o.description ? h('p', { className: 'description' }, richText(o.description)) : null,
      renderParams(op), renderBody(op), renderResponses(op), renderTry(op)));
  });
}

function renderSchemas() {
  const schemas = (spec.components && spec.components.schemas) || {};
  const names = Object.keys(schemas).sort();
  if (names.length === 0) return;
  document.getElementById('schema-list').replaceChildren(...names.map((name) =>
    h('section', { className: 'card', id: schemaAnchor(name) }, h('h3', null, name),
      schemas[name].description ? h('p', { className: 'sub' }, richText(schemas[name].description)) : null,
      schemaTree(schemas[name], 0, [name]))));
  document.getElementById('schemas').hidden = false;
}

document.getElementById('filter').addEventListener('input', (event) => {
  const needle = event.target.value.trim().toLowerCase();
  document.querySelectorAll('#endpoint-list a.endpoint, #operations .op').forEach((el) => {
    const text = (el.dataset.method + ' ' + el.dataset.path + ' ' + el.dataset.tag + ' ' + el.textContent).toLowerCase();
    el.classList.toggle('hidden-by-filter', needle !== '' && text.indexOf(needle) < 0);
  });
  document.querySelectorAll('#endpoint-list h3, #operations h2.group-title').forEach((title) => {
    const scope = title.closest('#endpoint-list') ? '#endpoint-list a.endpoint' : '#operations .op';
    const visible = Array.from(document.querySelectorAll(scope)).some((el) => el.dataset.tag === title.dataset.tag && !el.classList.contains('hidden-by-filter'));
    title.classList.toggle('hidden-by-filter', !visible);
  });
});

async function main() {
  try {
    const response = await fetch('/openapi.json', { headers: { 'Accept': 'application/json' } });
    if (!response.ok) throw new Error('GET /openapi.json answered ' + response.status);
    spec = await response.json();
    if (!spec || typeof spec !== 'object' || !spec.paths) throw new Error('/openapi.json is not an OpenAPI document');
    const ops = collectOperations();
    renderIntro();
    renderNav(ops);
    renderOperations(ops);
    renderSchemas();
    document.body.dataset.ready = 'true';
    if (location.hash) {
      const target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      if (target) target.scrollIntoView();
    }
  } catch (error) {
    document.getElementById('loading').hidden = true;
    const box = document.getElementById('load-error');
    box.replaceChildren(h('strong', null, 'Could not load the API description'), ' \\u2014 ' + (error && error.message ? error.message : String(error)));
    box.hidden = false;
    document.body.dataset.ready = 'error';
  }
}
main();
`;

/** Builds the API reference page (pure: same output every call). */
export function docsPage(): RenderedPage {
  return renderPage({ title: 'coyo-edge API reference', current: 'docs', body: BODY, style: STYLE, script: SCRIPT });
}
