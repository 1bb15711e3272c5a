/**
 * `/`: the playground. A person pastes an API key (remembered in this browser), drops, picks or pastes
 * an image, types labels and sees ALIGN's zero-shot scores as bars; a second box looks up one
 * COYO-700M row, and a third answers "is this image in COYO?" by its pHash. It calls the same-origin API exactly as any client would
 * (`POST /v1/zero-shot` with `{ image: { base64 }, labels }`, `GET /v1/coyo/{id}`), and shows the
 * RFC 9457 problem the API answers when it refuses.
 */
import { loadApiKey, saveApiKey } from './api-key';

/** The element with `id`, of the expected kind; a missing or different element is a bug in index.html. */
function byId<T extends HTMLElement>(id: string, kind: new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof kind)) throw new Error(`bug: #${id} is missing or not a ${kind.name}`);
  return element;
}

const form = byId('classify-form', HTMLFormElement);
const keyInput = byId('api-key', HTMLInputElement);
const toggleKey = byId('toggle-key', HTMLButtonElement);
const fileInput = byId('file', HTMLInputElement);
const dropzone = byId('dropzone', HTMLDivElement);
const dropzoneEmpty = byId('dz-empty', HTMLDivElement);
const fileInfo = byId('file-info', HTMLDivElement);
const preview = byId('preview', HTMLImageElement);
const labelsInput = byId('labels', HTMLInputElement);
const templateInput = byId('template', HTMLInputElement);
const classifyButton = byId('classify', HTMLButtonElement);
const formNote = byId('form-note', HTMLSpanElement);
const errorBox = byId('error', HTMLDivElement);
const bars = byId('bars', HTMLOListElement);
const empty = byId('empty', HTMLDivElement);
const resultMeta = byId('result-meta', HTMLDivElement);
const coyoForm = byId('coyo-form', HTMLFormElement);
const coyoId = byId('coyo-id', HTMLInputElement);
const coyoSubmit = byId('coyo-submit', HTMLButtonElement);
const coyoError = byId('coyo-error', HTMLDivElement);
const coyoRow = byId('coyo-row', HTMLElement);
const provenanceForm = byId('provenance-form', HTMLFormElement);
const provenanceFile = byId('provenance-file', HTMLInputElement);
const provenanceDistance = byId('provenance-distance', HTMLSelectElement);
const provenanceSubmit = byId('provenance-submit', HTMLButtonElement);
const provenanceError = byId('provenance-error', HTMLDivElement);
const provenanceSummary = byId('provenance-summary', HTMLParagraphElement);
const provenanceMatches = byId('provenance-matches', HTMLOListElement);

let chosenFile: File | null = null;
let previewUrl: string | null = null;

/** What the pages show of an error answer: RFC 9457 fields, all optional, plus the usual extensions. */
interface Problem {
  title?: string;
  detail?: string;
  status?: number;
  type?: string;
  request_id?: string;
  errors?: unknown[];
}

interface LabelScore {
  label: string;
  score: number;
}

// ---- API key -------------------------------------------------------------------------------

keyInput.value = loadApiKey();
keyInput.addEventListener('input', () => {
  saveApiKey(keyInput.value.trim());
});
toggleKey.addEventListener('click', () => {
  const show = keyInput.type === 'password';
  keyInput.type = show ? 'text' : 'password';
  toggleKey.textContent = show ? 'Hide' : 'Show';
  toggleKey.setAttribute('aria-pressed', String(show));
});
byId('forget-key', HTMLButtonElement).addEventListener('click', () => {
  keyInput.value = '';
  saveApiKey('');
  keyInput.focus();
});

// ---- image ---------------------------------------------------------------------------------

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

function chooseFile(file: File | undefined): void {
  if (file === undefined) return;
  chosenFile = file;
  if (previewUrl !== null) URL.revokeObjectURL(previewUrl);
  previewUrl = URL.createObjectURL(file);
  preview.src = previewUrl;
  preview.hidden = false;
  dropzoneEmpty.hidden = true;
  fileInfo.textContent = [file.name || 'pasted image', file.type || 'unknown type', formatBytes(file.size)].join(' \u00b7 ');
  formNote.textContent = '';
}

fileInput.addEventListener('change', () => {
  chooseFile(fileInput.files?.[0]);
});
dropzone.addEventListener('click', () => {
  fileInput.click();
});
dropzone.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    fileInput.click();
  }
});
for (const type of ['dragenter', 'dragover'] as const) {
  dropzone.addEventListener(type, (event) => {
    event.preventDefault();
    dropzone.classList.add('over');
  });
}
for (const type of ['dragleave', 'dragend', 'drop'] as const) {
  dropzone.addEventListener(type, () => {
    dropzone.classList.remove('over');
  });
}
dropzone.addEventListener('drop', (event) => {
  event.preventDefault();
  chooseFile(event.dataTransfer?.files[0]);
});
document.addEventListener('paste', (event) => {
  const files = event.clipboardData ? Array.from(event.clipboardData.files) : [];
  chooseFile(files.find((file) => file.type.startsWith('image/')));
});

byId('presets', HTMLDivElement).addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('button[data-labels]') : null;
  if (!(button instanceof HTMLButtonElement)) return;
  labelsInput.value = button.dataset.labels ?? '';
  labelsInput.focus();
});

/** The labels typed, trimmed, without empties or repeats, in their first order. */
function parseLabels(text: string): string[] {
  const labels = new Set<string>();
  for (const part of text.split(',')) {
    const label = part.trim();
    if (label !== '') labels.add(label);
  }
  return [...labels];
}

function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = typeof reader.result === 'string' ? reader.result : '';
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.onerror = () => {
      reject(reader.error ?? new Error('could not read the file'));
    };
    reader.readAsDataURL(file);
  });
}

// ---- problems --------------------------------------------------------------------------------

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: Record<string, unknown>, name: string): string | undefined {
  const value = record[name];
  return typeof value === 'string' ? value : undefined;
}

/** Reads an error response: RFC 9457 problem+json when the API sent one, else the raw text. */
async function readProblem(response: Response): Promise<Problem> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!isRecord(body)) return { title: response.statusText || 'Request failed', status: response.status, detail: text.slice(0, 300) };
  const problem: Problem = {};
  const title = stringField(body, 'title');
  const detail = stringField(body, 'detail');
  const type = stringField(body, 'type');
  const requestId = stringField(body, 'request_id');
  if (title !== undefined) problem.title = title;
  if (detail !== undefined) problem.detail = detail;
  if (type !== undefined) problem.type = type;
  if (requestId !== undefined) problem.request_id = requestId;
  if (typeof body.status === 'number') problem.status = body.status;
  if (Array.isArray(body.errors)) problem.errors = body.errors;
  return problem;
}

/** One line of a validation error list: `where: what`, from the usual field names. */
function describeError(item: unknown): string {
  if (!isRecord(item)) return JSON.stringify(item);
  const where = stringField(item, 'pointer') ?? stringField(item, 'path') ?? stringField(item, 'field');
  const what = stringField(item, 'detail') ?? stringField(item, 'message') ?? JSON.stringify(item);
  return where === undefined ? what : `${where}: ${what}`;
}

/** Shows `problem` in `box`; `status` is the HTTP status, or 0 for a message of the page itself. */
function showProblem(box: HTMLElement, problem: Problem, status: number): void {
  box.replaceChildren();
  const head = document.createElement('div');
  const strong = document.createElement('strong');
  strong.textContent = problem.title ?? 'Request failed';
  head.append(strong);
  if (problem.detail !== undefined && problem.detail !== '') head.append(` \u2014 ${problem.detail}`);
  box.append(head);
  if (problem.errors !== undefined && problem.errors.length > 0) {
    const list = document.createElement('ul');
    for (const item of problem.errors.slice(0, 8)) {
      const li = document.createElement('li');
      li.textContent = describeError(item);
      list.append(li);
    }
    box.append(list);
  }
  if (status !== 0) {
    const meta = document.createElement('div');
    meta.className = 'meta';
    const parts = [`HTTP ${problem.status ?? status}`];
    if (problem.type !== undefined) parts.push(problem.type.split('/').pop() ?? problem.type);
    if (problem.request_id !== undefined) parts.push(`request ${problem.request_id}`);
    meta.textContent = parts.join(' \u00b7 ');
    box.append(meta);
  }
  box.hidden = false;
}

function showMessage(box: HTMLElement, title: string, detail: string): void {
  showProblem(box, { title, detail }, 0);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- scores --------------------------------------------------------------------------------

function formatScore(score: number): string {
  const pct = score * 100;
  if (pct > 0 && pct < 0.1) return '<0.1%';
  return `${pct.toFixed(1)}%`;
}

/** The scores of a zero-shot answer: a list of `{ label, score }` (or a batch of one such list). */
function parseScores(data: unknown): LabelScore[] {
  const list: unknown = Array.isArray(data) && Array.isArray(data[0]) ? data[0] : data;
  if (!Array.isArray(list)) throw new Error('unexpected answer from the API');
  return list.map((item: unknown) => {
    if (!isRecord(item) || typeof item.label !== 'string' || typeof item.score !== 'number') {
      throw new Error('unexpected answer from the API');
    }
    return { label: item.label, score: item.score };
  });
}

function renderScores(scores: LabelScore[]): void {
  const sorted = [...scores].sort((a, b) => b.score - a.score);
  bars.replaceChildren();
  sorted.forEach((item, index) => {
    const li = document.createElement('li');
    li.className = index === 0 ? 'bar top' : 'bar';
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
    // Two frames: the bar is laid out at width 0 first, so the width change animates.
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        fill.style.width = `${Math.max(0.5, Math.min(100, item.score * 100))}%`;
      }),
    );
  });
  empty.hidden = sorted.length > 0;
}

function pill(text: string, title: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.className = 'pill';
  span.textContent = text;
  span.title = title;
  return span;
}

async function classify(): Promise<void> {
  errorBox.hidden = true;
  const key = keyInput.value.trim();
  const labels = parseLabels(labelsInput.value);
  if (key === '') {
    showMessage(errorBox, 'API key needed', 'Paste your key (coyo_\u2026) into the API key box.');
    keyInput.focus();
    return;
  }
  if (chosenFile === null) {
    showMessage(errorBox, 'No image yet', 'Drop an image, paste one, or choose a file.');
    dropzone.focus();
    return;
  }
  if (labels.length === 0) {
    showMessage(errorBox, 'No labels', 'Type at least one label, separated by commas.');
    labelsInput.focus();
    return;
  }

  classifyButton.disabled = true;
  const spinner = document.createElement('span');
  spinner.className = 'spinner';
  classifyButton.replaceChildren(spinner, ' Classifying');
  formNote.textContent = '';
  const started = performance.now();
  try {
    const body: { image: { base64: string }; labels: string[]; hypothesis_template?: string } = {
      image: { base64: await readBase64(chosenFile) },
      labels,
    };
    const template = templateInput.value.trim();
    if (template !== '') body.hypothesis_template = template;
    const response = await fetch('/v1/zero-shot', {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const elapsed = Math.round(performance.now() - started);
    if (!response.ok) {
      showProblem(errorBox, await readProblem(response), response.status);
      return;
    }
    renderScores(parseScores(await response.json()));
    resultMeta.replaceChildren(pill(`${elapsed} ms`, 'round trip, including upload'));
    const cache = response.headers.get('x-cache');
    if (cache !== null) resultMeta.append(pill(`cache ${cache}`, 'x-cache'));
    const requestId = response.headers.get('x-request-id');
    if (requestId !== null) resultMeta.append(pill(requestId, 'x-request-id'));
  } catch (error) {
    showMessage(errorBox, 'Could not reach the API', errorText(error));
  } finally {
    classifyButton.disabled = false;
    classifyButton.textContent = 'Classify';
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  void classify();
});

// ---- COYO look-up ----------------------------------------------------------------------------

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '\u2014';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

function renderRow(data: unknown): void {
  // The look-up answers { version, row }; show the row's columns, then the dataset version.
  const row: Record<string, unknown> = isRecord(data) && isRecord(data.row) ? { ...data.row } : isRecord(data) ? { ...data } : {};
  if (isRecord(data) && isRecord(data.row) && data.version !== undefined) row['dataset version'] = data.version;
  coyoRow.replaceChildren();
  for (const [name, value] of Object.entries(row)) {
    const dt = document.createElement('dt');
    dt.textContent = name;
    const dd = document.createElement('dd');
    if (name === 'url' && typeof value === 'string' && /^https?:\/\//i.test(value)) {
      const link = document.createElement('a');
      link.href = value;
      link.textContent = value;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      dd.append(link);
    } else {
      dd.textContent = cellText(value);
    }
    coyoRow.append(dt, dd);
  }
  coyoRow.hidden = false;
}

async function lookUp(): Promise<void> {
  coyoError.hidden = true;
  coyoRow.hidden = true;
  const id = coyoId.value.trim();
  const key = keyInput.value.trim();
  if (!/^[0-9]{1,19}$/.test(id)) {
    showMessage(coyoError, 'Not an id', 'COYO ids are whole numbers, e.g. 2680060225205.');
    return;
  }
  if (key === '') {
    showMessage(coyoError, 'API key needed', 'Paste your key into the API key box above.');
    return;
  }
  coyoSubmit.disabled = true;
  try {
    const response = await fetch(`/v1/coyo/${encodeURIComponent(id)}`, {
      headers: { Authorization: `Bearer ${key}`, Accept: 'application/json' },
    });
    if (!response.ok) {
      showProblem(coyoError, await readProblem(response), response.status);
      return;
    }
    renderRow(await response.json());
  } catch (error) {
    showMessage(coyoError, 'Could not reach the API', errorText(error));
  } finally {
    coyoSubmit.disabled = false;
  }
}

coyoForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void lookUp();
});

// ---- is this image in COYO? ----------------------------------------------------------------

function renderMatches(data: unknown): void {
  const answer = isRecord(data) ? data : {};
  const matches = Array.isArray(answer['matches']) ? answer['matches'] : [];
  const phash = typeof answer['phash'] === 'string' ? answer['phash'] : '?';
  const total = typeof answer['total'] === 'number' ? answer['total'] : matches.length;
  const distance = typeof answer['max_distance'] === 'number' ? answer['max_distance'] : 0;
  provenanceSummary.textContent =
    total === 0
      ? `pHash ${phash}: no COYO-700M row within distance ${distance}.`
      : `pHash ${phash}: ${total} row${total === 1 ? '' : 's'} within distance ${distance}${total > matches.length ? ` (nearest ${matches.length} shown)` : ''}.`;
  provenanceSummary.hidden = false;
  provenanceMatches.replaceChildren();
  for (const match of matches) {
    if (!isRecord(match) || !isRecord(match['row'])) continue;
    const row = match['row'];
    const item = document.createElement('li');
    const badge = document.createElement('span');
    badge.className = 'distance';
    badge.textContent = `d=${cellText(match['distance'])}`;
    const id = document.createElement('code');
    id.textContent = cellText(row['id']);
    item.append(badge, id, ' ');
    const url = row['url'];
    if (typeof url === 'string' && /^https?:\/\//i.test(url)) {
      const link = document.createElement('a');
      link.href = url;
      link.textContent = url;
      link.target = '_blank';
      link.rel = 'noopener noreferrer';
      item.append(link);
    } else {
      item.append(cellText(url));
    }
    const text = row['text'];
    if (typeof text === 'string') item.append(` \u2014 ${text}`);
    provenanceMatches.append(item);
  }
  provenanceMatches.hidden = provenanceMatches.childElementCount === 0;
}

async function lookUpImage(): Promise<void> {
  provenanceError.hidden = true;
  provenanceSummary.hidden = true;
  provenanceMatches.hidden = true;
  const key = keyInput.value.trim();
  const file = provenanceFile.files?.[0] ?? chosenFile;
  if (file === null) {
    showMessage(provenanceError, 'Image needed', 'Choose an image here or in the box above.');
    return;
  }
  if (key === '') {
    showMessage(provenanceError, 'API key needed', 'Paste your key into the API key box above.');
    return;
  }
  provenanceSubmit.disabled = true;
  try {
    const response = await fetch('/v1/coyo/lookup-image', {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ image: { base64: await readBase64(file) }, max_distance: Number(provenanceDistance.value) }),
    });
    if (!response.ok) {
      showProblem(provenanceError, await readProblem(response), response.status);
      return;
    }
    renderMatches(await response.json());
  } catch (error) {
    showMessage(provenanceError, 'Could not reach the API', errorText(error));
  } finally {
    provenanceSubmit.disabled = false;
  }
}

provenanceForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void lookUpImage();
});
