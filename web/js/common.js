// Shared by every page: translations, the language switch, the API client and small helpers.
// Plain ES modules, no build step: the server serves these files as they are.

import { withParticle } from './josa.js';

const LANGS = ['ko', 'en'];

/**
 * The election this page belongs to: a page at `/e/<id>/…` is that election's, and every API
 * call it makes goes to `/e/<id>/api/…`; '' for a page at the top (a server's only election, or
 * the list of all of them).
 */
export const electionBase = (() => {
  const m = location.pathname.match(/^\/e\/([a-z0-9-]{1,64})\//);
  return m ? `/e/${m[1]}` : '';
})();

/** Keeps the page's links inside its election: the other pages, the record files. */
function linkWithinElection() {
  if (!electionBase) return;
  for (const a of document.querySelectorAll('a[href^="/"]')) {
    const href = a.getAttribute('href');
    if (/^\/(index|vote|check|board|admin)\.html/.test(href) || href.startsWith('/api/')) {
      a.setAttribute('href', electionBase + href);
    }
  }
}
let messages = {};
let lang = 'ko';

/** The page's language: ?lang=, then the saved choice, then Korean. */
function chosenLanguage() {
  const q = new URLSearchParams(location.search).get('lang');
  if (LANGS.includes(q)) return q;
  try {
    const saved = localStorage.getItem('hanpyo-lang');
    if (LANGS.includes(saved)) return saved;
  } catch (_) { /* storage may be disabled */ }
  return 'ko';
}

export function currentLanguage() {
  return lang;
}

/** The translation of `key`, with `{name}` replaced from `vars`; the key itself if missing. */
export function t(key, vars = {}) {
  const text = messages[key] ?? key;
  // `{name|을}`: the value followed by the particle that fits its last sound (josa.js).
  return text.replace(/\{(\w+)(?:\|([^}]+))?\}/g, (whole, k, particle) => {
    if (!(k in vars)) return whole;
    return particle ? withParticle(String(vars[k]), particle) : String(vars[k]);
  });
}

export function hasText(key) {
  return key in messages;
}

/** Picks the current language's side of a `{ko, en}` text. */
export function pick(text) {
  if (!text) return '';
  return text[lang] || text.ko || text.en || '';
}

/** Applies translations to `[data-i18n]` (text) and `[data-i18n-attr]` ("attr:key;attr:key"). */
export function translate(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of el.dataset.i18nAttr.split(';')) {
      const [attr, key] = pair.split(':');
      if (attr && key) el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}

async function loadMessages(l) {
  const r = await fetch(`/i18n/${l}.json`);
  if (!r.ok) throw new Error(`translations ${l}: ${r.status}`);
  return r.json();
}

/** Loads the language, translates the page, wires the switch. Call first on every page. */
export async function setupPage() {
  lang = chosenLanguage();
  try {
    messages = await loadMessages(lang);
  } catch (_) {
    // The page's own Korean text stays; keys without it show as keys rather than nothing.
    lang = 'ko';
    messages = {};
  }
  document.documentElement.lang = lang;
  translate();
  linkWithinElection();
  const button = document.getElementById('lang-switch');
  if (button) {
    button.addEventListener('click', async () => {
      const next = lang === 'ko' ? 'en' : 'ko';
      let loaded;
      try {
        loaded = await loadMessages(next);
      } catch (_) {
        return; // stay in the current language rather than mix two
      }
      lang = next;
      messages = loaded;
      try { localStorage.setItem('hanpyo-lang', lang); } catch (_) { /* ignore */ }
      document.documentElement.lang = lang;
      translate();
      document.dispatchEvent(new CustomEvent('languagechange'));
    });
  }
}

/** An error answered by the API: `{code, message}` and the HTTP status. */
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/**
 * Calls the API. `body` is sent as is if it is a string or bytes, as JSON otherwise.
 * Answers parsed JSON, or text/bytes when `as` is 'text' or 'bytes'.
 */
export async function api(path, { method = 'GET', body, token, as = 'json', base = electionBase } = {}) {
  const headers = {};
  let payload = body;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  } else if (body instanceof Uint8Array) {
    headers['content-type'] = 'application/octet-stream';
  } else if (typeof body === 'string') {
    headers['content-type'] = 'text/plain; charset=utf-8';
  }
  if (token) headers.authorization = `Bearer ${token}`;
  let r;
  try {
    r = await fetch(base + path, { method, headers, body: payload });
  } catch (e) {
    throw new ApiError(0, 'network', String(e));
  }
  if (!r.ok) {
    let j = {};
    try { j = await r.json(); } catch (_) { /* not JSON */ }
    throw new ApiError(r.status, j.code || `http-${r.status}`, j.message || r.statusText, j);
  }
  if (as === 'text') return r.text();
  if (as === 'bytes') return new Uint8Array(await r.arrayBuffer());
  return r.json();
}

/** A person-readable sentence for an API error, in the current language. */
export function errorText(e) {
  if (e instanceof ApiError) {
    const key = `error.${e.code}`;
    // A lockout says how long it lasts (whole minutes, rounded up).
    const wait = e.body?.retry_after;
    if (Number.isFinite(wait) && hasText(`${key}-for`)) return t(`${key}-for`, { minutes: Math.max(1, Math.ceil(wait / 60)) });
    if (hasText(key)) return t(key);
    return t('error.generic', { message: e.message });
  }
  return t('error.generic', { message: e && e.message ? e.message : String(e) });
}

/** Shows `text` in the live region `el` (role=alert or status), or hides it when empty. */
export function say(el, text) {
  if (!el) return;
  el.textContent = text || '';
  el.hidden = !text;
}

/**
 * The election at `base` (by default the page's: the one its `/e/<id>/` address names, or the
 * server's only one; or a mirror's), with its details. A page at the top of a server with several
 * elections sends the visitor to the list.
 */
export async function currentElection(base = electionBase) {
  const list = await api('/api/v1/elections', { base });
  if (!list.length) throw new ApiError(503, 'no-election', 'no election yet');
  if (list.length > 1 && !base) {
    location.replace('/');
    throw new ApiError(404, 'election-required', 'choose an election');
  }
  return api(`/api/v1/elections/${encodeURIComponent(list[0].election_id)}`, { base });
}

const wasmBundles = new Map();
/** A WebAssembly bundle of hanpyo-wasm in `dir` (`/pkg`, `/pkg-certs`), loaded once. */
export async function loadWasm(dir) {
  if (!wasmBundles.has(dir)) {
    wasmBundles.set(dir, import(`${dir}/hanpyo_wasm.js`).then(async (m) => {
      await m.default({ module_or_path: `${dir}/hanpyo_wasm_bg.wasm` });
      return m;
    }));
  }
  return wasmBundles.get(dir);
}

/** The WebAssembly crypto (hanpyo-wasm), loaded once. */
export async function crypto() {
  return loadWasm('/pkg');
}

/** Offers `data` as a file download. */
export function download(name, data, type = 'application/json') {
  const blob = new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Creates an element: el('p', {class: 'x'}, 'text', child). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

/** `<dt>`/`<dd>` pairs for a `<dl class="facts">`: each row is `[translation key, value]`. */
export function facts(rows, ddAttrs = {}) {
  return rows.flatMap(([k, v]) => [el('dt', {}, t(k)), el('dd', ddAttrs, v)]);
}

/** Formats a number for the current language. */
export function num(n) {
  return new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-GB').format(n);
}

/** A moment (Unix seconds) as people here read it: Korean time, with the weekday. */
export function when(unix) {
  return new Intl.DateTimeFormat(lang === 'ko' ? 'ko-KR' : 'en-GB', {
    timeZone: 'Asia/Seoul', year: 'numeric', month: 'long', day: 'numeric', weekday: 'short',
    hour: '2-digit', minute: '2-digit',
  }).format(new Date(unix * 1000));
}

/** Phase name, translated. */
export function phaseText(p) {
  return t(`phase.${p}`);
}
