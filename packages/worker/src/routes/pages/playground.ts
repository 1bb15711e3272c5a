/**
 * `/`: the playground. A person pastes an API key (kept in localStorage), drops or picks an image,
 * types labels and sees ALIGN's zero-shot scores as bars; a second box looks up one COYO-700M row.
 * Plain HTML/CSS/JS, no external resources: it calls the same-origin API exactly as any client would
 * (`POST /v1/zero-shot` with `{ image: { base64 }, labels }`, `GET /v1/coyo/{id}`).
 *
 * The script is a string (it runs in the browser, not in the Worker); it avoids template literals so
 * that this file's own template strings cannot interpolate into it.
 */
import { renderPage, type RenderedPage } from './layout';

const BODY = `
<main class="wrap">
  <section class="hero">
    <h1>Zero-shot image classification</h1>
    <p>Drop an image, name the labels you care about, and <strong>ALIGN</strong> scores each one &mdash; no training,
    any labels. Every call here is a plain <code>POST /v1/zero-shot</code>; see the <a href="/docs">API reference</a>.</p>
  </section>

  <div class="grid">
    <form class="card" id="classify-form" novalidate>
      <h2>Input</h2>
      <p class="sub">Your key stays in this browser. Images are sent once, as base64, to this API only.</p>

      <div class="field">
        <label for="api-key">API key <span class="hint">&mdash; remembered in this browser (localStorage)</span></label>
        <div class="row">
          <input id="api-key" type="password" autocomplete="off" spellcheck="false" placeholder="coyo_&hellip;">
          <button type="button" id="toggle-key" aria-pressed="false">Show</button>
          <button type="button" id="forget-key">Forget</button>
        </div>
      </div>

      <div class="field">
        <label for="file">Image</label>
        <div id="dropzone" class="dropzone" tabindex="0" role="button" aria-describedby="dz-empty">
          <input id="file" type="file" accept="image/*" class="sr-only">
          <img id="preview" alt="Preview of the chosen image" hidden>
          <div class="dz-empty" id="dz-empty">
            <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 16V4m0 0 4.5 4.5M12 4 7.5 8.5M4 15v3a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-3" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/></svg>
            <strong>Drop an image here</strong>
            <span>or <u>choose a file</u>, or paste one &middot; JPEG, PNG, GIF, WebP</span>
          </div>
        </div>
        <div id="file-info" class="file-info"></div>
      </div>

      <div class="field">
        <label for="labels">Labels <span class="hint">&mdash; comma separated</span></label>
        <input id="labels" type="text" spellcheck="false" value="cat, dog, bird, car, mountain">
        <div class="chips" id="presets" aria-label="Example label sets">
          <button type="button" data-labels="cat, dog, bird, car, mountain">animals &amp; things</button>
          <button type="button" data-labels="indoor, outdoor">indoor / outdoor</button>
          <button type="button" data-labels="a photo, a painting, a diagram, a screenshot">kind of image</button>
          <button type="button" data-labels="day, night, sunset">time of day</button>
        </div>
      </div>

      <details class="options">
        <summary>Options</summary>
        <div class="field">
          <label for="template">Hypothesis template <span class="hint">&mdash; <code>{}</code> is replaced by each label</span></label>
          <input id="template" type="text" spellcheck="false" placeholder="This is a photo of {}.">
        </div>
      </details>

      <div class="actions">
        <button class="primary" id="classify" type="submit">Classify</button>
        <span id="form-note" class="hint" role="status"></span>
      </div>
    </form>

    <section class="card" id="results-card" aria-labelledby="results-title">
      <h2 id="results-title">Scores</h2>
      <p class="sub">Softmax over your labels of ALIGN's image&ndash;text similarity, highest first.</p>
      <div id="error" class="problem" role="alert" hidden></div>
      <div id="empty" class="empty">
        <div class="ghost"><i></i><i></i><i></i></div>
        <span>Scores appear here.</span>
      </div>
      <ol id="bars" class="bars" aria-live="polite"></ol>
      <div id="result-meta" class="result-meta"></div>
    </section>
  </div>

  <section class="card coyo" aria-labelledby="coyo-title">
    <h2 id="coyo-title">COYO-700M look-up</h2>
    <p class="sub">One image&ndash;text pair by its id: <code>GET /v1/coyo/{id}</code> (needs the <code>coyo</code> scope).</p>
    <form id="coyo-form" class="row" novalidate>
      <input id="coyo-id" type="text" inputmode="numeric" spellcheck="false" placeholder="2680060225205" aria-label="COYO id">
      <button type="submit" id="coyo-submit">Look up</button>
    </form>
    <div id="coyo-error" class="problem" role="alert" hidden></div>
    <dl id="coyo-row" class="kv" hidden></dl>
  </section>
  <footer class="foot">coyo-edge &middot; ALIGN and ViT by Kakao Brain &middot; COYO-700M (CC-BY-4.0)</footer>
</main>
`;

const STYLE = `
.wrap { max-width: 1120px; margin: 0 auto; padding: 28px 24px 0; }
.hero { margin: 10px 0 26px; }
.hero h1 { margin: 0 0 8px; font-size: 32px; line-height: 1.15; letter-spacing: -.025em;
  background: linear-gradient(120deg, var(--text) 30%, var(--accent) 70%, var(--accent-2));
  -webkit-background-clip: text; background-clip: text; color: transparent; }
.hero p { margin: 0; max-width: 720px; color: var(--muted); font-size: 16px; }
.grid { display: grid; grid-template-columns: minmax(0, 1.05fr) minmax(0, 1fr); gap: 22px; align-items: start; }
@media (max-width: 880px) { .grid { grid-template-columns: minmax(0, 1fr); } }
.field { margin: 0 0 16px; }
.field > label { display: block; font-weight: 600; font-size: 13px; margin-bottom: 6px; }
.dropzone { position: relative; display: flex; align-items: center; justify-content: center; min-height: 210px;
  border: 2px dashed var(--border); border-radius: 12px; background: var(--panel-2); cursor: pointer;
  transition: border-color .15s, background .15s; overflow: hidden; outline: none; }
.dropzone:hover, .dropzone:focus-visible { border-color: color-mix(in srgb, var(--accent) 60%, var(--border)); }
.dropzone.over { border-color: var(--accent); background: color-mix(in srgb, var(--accent) 10%, var(--panel-2)); }
.dropzone img { display: block; width: calc(100% - 20px); height: 240px; object-fit: contain; margin: 10px; }
.dz-empty { display: flex; flex-direction: column; align-items: center; gap: 4px; color: var(--muted); text-align: center; padding: 20px; }
.dz-empty svg { width: 34px; height: 34px; color: var(--accent); margin-bottom: 6px; }
.dz-empty strong { color: var(--text); font-size: 15px; }
.dz-empty span { font-size: 13px; }
.file-info { margin-top: 6px; min-height: 18px; color: var(--muted); font-size: 12.5px; font-family: var(--mono); }
.chips { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
.chips button { padding: 3px 10px; font-size: 12.5px; font-weight: 500; border-radius: 999px; color: var(--muted); }
.options { margin: 0 0 16px; }
.options summary { cursor: pointer; color: var(--muted); font-size: 13px; font-weight: 600; margin-bottom: 10px; }
.actions { display: flex; align-items: center; gap: 14px; }
.actions .primary { min-width: 140px; padding: 11px 18px; font-size: 15px; }
.bars { list-style: none; margin: 0; padding: 0; display: grid; gap: 14px; }
.bar-head { display: flex; justify-content: space-between; align-items: baseline; gap: 12px; margin-bottom: 5px; }
.bar-label { font-weight: 600; overflow-wrap: anywhere; }
.bar-value { font-family: var(--mono); font-size: 13px; color: var(--muted); white-space: nowrap; }
.bar-track { height: 12px; border-radius: 999px; background: var(--panel-2); border: 1px solid var(--border); overflow: hidden; }
.bar-fill { height: 100%; width: 0; border-radius: 999px; background: linear-gradient(90deg, var(--accent), var(--accent-2));
  transition: width .6s cubic-bezier(.2, .8, .2, 1); }
.bar:not(.top) .bar-fill { background: color-mix(in srgb, var(--accent) 55%, var(--panel-2)); }
.bar.top .bar-label::after { content: "best"; margin-left: 8px; padding: 1px 7px; border-radius: 999px; font-size: 11px;
  vertical-align: 1px; color: var(--accent-ink); background: var(--accent); }
.bar.top .bar-value { color: var(--text); font-weight: 700; }
.empty { display: flex; flex-direction: column; align-items: center; gap: 12px; padding: 34px 0; color: var(--muted); }
.ghost { width: 70%; display: grid; gap: 10px; }
.ghost i { display: block; height: 12px; border-radius: 999px; background: var(--panel-2); border: 1px solid var(--border); }
.ghost i:nth-child(1) { width: 90%; } .ghost i:nth-child(2) { width: 60%; } .ghost i:nth-child(3) { width: 35%; }
.result-meta { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 16px; }
.result-meta .pill { font-family: var(--mono); font-weight: 500; }
#error { margin-bottom: 14px; }
.coyo { margin-top: 22px; }
.coyo form { max-width: 520px; margin-bottom: 14px; }
.kv { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 6px 18px; margin: 0; font-size: 14px; }
.kv dt { color: var(--muted); font-family: var(--mono); font-size: 12.5px; padding-top: 1px; }
.kv dd { margin: 0; overflow-wrap: anywhere; }
#coyo-error { margin-bottom: 12px; }
`;

const SCRIPT = `
const $ = (id) => document.getElementById(id);
const form = $('classify-form');
const keyInput = $('api-key');
const fileInput = $('file');
const dropzone = $('dropzone');
const preview = $('preview');
const labelsInput = $('labels');
const templateInput = $('template');
const classifyButton = $('classify');
const formNote = $('form-note');
const errorBox = $('error');
const bars = $('bars');
const empty = $('empty');
const resultMeta = $('result-meta');
let chosenFile = null;
let previewUrl = null;

function storageGet(key) {
  try { return localStorage.getItem(key); } catch (e) { return null; }
}
function storageSet(key, value) {
  try {
    if (value) localStorage.setItem(key, value); else localStorage.removeItem(key);
  } catch (e) { /* storage disabled: the key simply is not remembered */ }
}

keyInput.value = storageGet(API_KEY_STORAGE_KEY) || '';
keyInput.addEventListener('input', () => storageSet(API_KEY_STORAGE_KEY, keyInput.value.trim()));
$('toggle-key').addEventListener('click', (event) => {
  const show = keyInput.type === 'password';
  keyInput.type = show ? 'text' : 'password';
  event.currentTarget.textContent = show ? 'Hide' : 'Show';
  event.currentTarget.setAttribute('aria-pressed', String(show));
});
$('forget-key').addEventListener('click', () => {
  keyInput.value = '';
  storageSet(API_KEY_STORAGE_KEY, '');
  keyInput.focus();
});

function formatBytes(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
  return (n / 1024 / 1024).toFixed(2) + ' MiB';
}

function chooseFile(file) {
  if (!file) return;
  chosenFile = file;
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  preview.src = previewUrl;
  preview.hidden = false;
  $('dz-empty').hidden = true;
  $('file-info').textContent = (file.name || 'pasted image') + ' \\u00b7 ' + (file.type || 'unknown type') + ' \\u00b7 ' + formatBytes(file.size);
  formNote.textContent = '';
}

fileInput.addEventListener('change', () => chooseFile(fileInput.files && fileInput.files[0]));
dropzone.addEventListener('click', () => fileInput.click());
dropzone.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); fileInput.click(); }
});
['dragenter', 'dragover'].forEach((type) => dropzone.addEventListener(type, (event) => {
  event.preventDefault();
  dropzone.classList.add('over');
}));
['dragleave', 'dragend', 'drop'].forEach((type) => dropzone.addEventListener(type, () => dropzone.classList.remove('over')));
dropzone.addEventListener('drop', (event) => {
  event.preventDefault();
  const files = event.dataTransfer && event.dataTransfer.files;
  if (files && files.length > 0) chooseFile(files[0]);
});
document.addEventListener('paste', (event) => {
  const items = event.clipboardData ? Array.from(event.clipboardData.files) : [];
  const image = items.find((f) => f.type.indexOf('image/') === 0);
  if (image) chooseFile(image);
});

$('presets').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-labels]');
  if (!button) return;
  labelsInput.value = button.getAttribute('data-labels');
  labelsInput.focus();
});

function parseLabels(text) {
  const seen = new Set();
  const labels = [];
  text.split(',').forEach((part) => {
    const label = part.trim();
    if (label && !seen.has(label)) { seen.add(label); labels.push(label); }
  });
  return labels;
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.onerror = () => reject(reader.error || new Error('could not read the file'));
    reader.readAsDataURL(file);
  });
}

/** Reads an error response: RFC 9457 problem+json when the API sent one, else the raw text. */
async function readProblem(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body && typeof body === 'object') return body;
  } catch (e) { /* not JSON */ }
  return { title: response.statusText || 'Request failed', status: response.status, detail: text.slice(0, 300) };
}

function showProblem(box, problem, status) {
  box.replaceChildren();
  const head = document.createElement('div');
  const strong = document.createElement('strong');
  strong.textContent = problem.title || 'Request failed';
  head.append(strong);
  if (problem.detail) head.append(document.createTextNode(' \\u2014 ' + problem.detail));
  box.append(head);
  if (Array.isArray(problem.errors) && problem.errors.length > 0) {
    const list = document.createElement('ul');
    problem.errors.slice(0, 8).forEach((item) => {
      const li = document.createElement('li');
      const where = item && (item.pointer || item.path || item.field);
      li.textContent = (where ? String(where) + ': ' : '') + String((item && (item.detail || item.message)) || JSON.stringify(item));
      list.append(li);
    });
    box.append(list);
  }
  const meta = document.createElement('div');
  meta.className = 'meta';
  const parts = ['HTTP ' + (problem.status || status)];
  if (problem.type) parts.push(String(problem.type).split('/').pop());
  if (problem.request_id) parts.push('request ' + problem.request_id);
  meta.textContent = parts.join(' \\u00b7 ');
  box.append(meta);
  box.hidden = false;
}

function showMessage(box, title, detail) {
  showProblem(box, { title: title, detail: detail }, 0);
  box.querySelector('.meta').remove();
}

function formatScore(score) {
  const pct = score * 100;
  if (pct > 0 && pct < 0.1) return '<0.1%';
  return pct.toFixed(1) + '%';
}

function renderScores(scores) {
  const sorted = scores.slice().sort((a, b) => b.score - a.score);
  bars.replaceChildren();
  sorted.forEach((item, index) => {
    const li = document.createElement('li');
    li.className = 'bar' + (index === 0 ? ' top' : '');
    li.dataset.label = item.label;
    li.dataset.score = String(item.score);
    const head = document.createElement('div');
    head.className = 'bar-head';
    const label = document.createElement('span');
    label.className = 'bar-label';
    label.textContent = item.label;
    const value = document.createElement('span');
    value.className = 'bar-value';
    value.textContent = formatScore(item.score);
    value.title = item.score.toFixed(6);
    head.append(label, value);
    const track = document.createElement('div');
    track.className = 'bar-track';
    track.setAttribute('role', 'meter');
    track.setAttribute('aria-label', item.label);
    track.setAttribute('aria-valuemin', '0');
    track.setAttribute('aria-valuemax', '1');
    track.setAttribute('aria-valuenow', String(item.score));
    const fill = document.createElement('div');
    fill.className = 'bar-fill';
    track.append(fill);
    li.append(head, track);
    bars.append(li);
    requestAnimationFrame(() => requestAnimationFrame(() => {
      fill.style.width = Math.max(0.5, Math.min(100, item.score * 100)) + '%';
    }));
  });
  empty.hidden = sorted.length > 0;
}

function pill(text, title) {
  const span = document.createElement('span');
  span.className = 'pill';
  span.textContent = text;
  if (title) span.title = title;
  return span;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  errorBox.hidden = true;
  const key = keyInput.value.trim();
  const labels = parseLabels(labelsInput.value);
  if (!key) { showMessage(errorBox, 'API key needed', 'Paste your key (coyo_\\u2026) into the API key box.'); keyInput.focus(); return; }
  if (!chosenFile) { showMessage(errorBox, 'No image yet', 'Drop an image, paste one, or choose a file.'); dropzone.focus(); return; }
  if (labels.length === 0) { showMessage(errorBox, 'No labels', 'Type at least one label, separated by commas.'); labelsInput.focus(); return; }

  classifyButton.disabled = true;
  classifyButton.replaceChildren(Object.assign(document.createElement('span'), { className: 'spinner' }), document.createTextNode(' Classifying'));
  formNote.textContent = '';
  const started = performance.now();
  try {
    const body = { image: { base64: await readBase64(chosenFile) }, labels: labels };
    const template = templateInput.value.trim();
    if (template) body.hypothesis_template = template;
    const response = await fetch('/v1/zero-shot', {
      method: 'POST',
      headers: { 'Authorization': 'Bearer ' + key, 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body),
    });
    const elapsed = Math.round(performance.now() - started);
    if (!response.ok) {
      showProblem(errorBox, await readProblem(response), response.status);
      return;
    }
    const data = await response.json();
    const scores = Array.isArray(data) && Array.isArray(data[0]) ? data[0] : data;
    if (!Array.isArray(scores)) throw new Error('unexpected answer from the API');
    renderScores(scores);
    resultMeta.replaceChildren(pill(elapsed + ' ms', 'round trip, including upload'));
    const cache = response.headers.get('x-cache');
    if (cache) resultMeta.append(pill('cache ' + cache, 'x-cache'));
    const requestId = response.headers.get('x-request-id');
    if (requestId) resultMeta.append(pill(requestId, 'x-request-id'));
  } catch (error) {
    showMessage(errorBox, 'Could not reach the API', error && error.message ? error.message : String(error));
  } finally {
    classifyButton.disabled = false;
    classifyButton.textContent = 'Classify';
  }
});

const coyoForm = $('coyo-form');
const coyoError = $('coyo-error');
const coyoRow = $('coyo-row');
coyoForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  coyoError.hidden = true;
  coyoRow.hidden = true;
  const id = $('coyo-id').value.trim();
  const key = keyInput.value.trim();
  if (!/^[0-9]{1,19}$/.test(id)) { showMessage(coyoError, 'Not an id', 'COYO ids are whole numbers, e.g. 2680060225205.'); return; }
  if (!key) { showMessage(coyoError, 'API key needed', 'Paste your key into the API key box above.'); return; }
  const button = $('coyo-submit');
  button.disabled = true;
  try {
    const response = await fetch('/v1/coyo/' + encodeURIComponent(id), {
      headers: { 'Authorization': 'Bearer ' + key, 'Accept': 'application/json' },
    });
    if (!response.ok) { showProblem(coyoError, await readProblem(response), response.status); return; }
    const data = await response.json();
    // The look-up answers { version, row }; show the row's columns, then the dataset version.
    const row = data && typeof data.row === 'object' && data.row !== null ? Object.assign({}, data.row) : Object.assign({}, data);
    if (data && data.row && data.version !== undefined) row['dataset version'] = data.version;
    coyoRow.replaceChildren();
    Object.keys(row).forEach((name) => {
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      const value = row[name];
      if (name === 'url' && typeof value === 'string' && /^https?:[/][/]/i.test(value)) {
        const link = document.createElement('a');
        link.href = value;
        link.textContent = value;
        link.target = '_blank';
        link.rel = 'noopener noreferrer';
        dd.append(link);
      } else {
        dd.textContent = value === null ? '\\u2014' : (typeof value === 'object' ? JSON.stringify(value) : String(value));
      }
      coyoRow.append(dt, dd);
    });
    coyoRow.hidden = false;
  } catch (error) {
    showMessage(coyoError, 'Could not reach the API', error && error.message ? error.message : String(error));
  } finally {
    button.disabled = false;
  }
});
`;

/** Builds the playground page (pure: same output every call). */
export function playgroundPage(): RenderedPage {
  return renderPage({ title: 'coyo-edge playground', current: 'playground', body: BODY, style: STYLE, script: SCRIPT });
}
