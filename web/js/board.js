// The public board: the latest checkpoint with its witnesses (checked here), the result, the
// entries with search by tracking code, and the whole election verified in the browser.
import {
  setupPage, api, errorText, say, t, hasText, pick, currentElection, crypto, el, num, phaseText, facts, when,
  electionBase,
} from './common.js';
import { resultFigures } from './charts.js';

const $ = (id) => document.getElementById(id);
const PAGE = 20;
const state = { election: null, checkpoint: null, size: 0, end: 0, entries: [], report: null, timing: null };

function renderSummary() {
  const e = state.election;
  if (!e) return;
  $('election-name').textContent = pick(e.title);
  const rows = [
    ['board.election-id', e.election_id],
    ['board.phase', phaseText(e.phase)],
    ['board.window', `${when(e.opens_at)} – ${when(e.closes_at)}`],
    ['board.eligible', num(e.eligible)],
    ['board.ballots', num(e.ballots)],
    ['board.counted', num(e.counted)],
    ['board.audited', num(e.audited)],
  ];
  $('summary').replaceChildren(...facts(rows));
  // Saved under names that say which election they are.
  $('download-entries').download = `${e.election_id}-entries`;
  $('download-checkpoint').download = `${e.election_id}-checkpoint`;
}

function renderCheckpoint() {
  const c = state.checkpoint;
  const box = $('checkpoint');
  if (!c) return;
  if (c.error) {
    box.replaceChildren(el('p', { class: 'alert' }, t('board.checkpoint-bad'), ' ', el('span', { lang: 'en' }, c.error)));
    return;
  }
  box.replaceChildren(
    el('p', {}, el('span', { class: 'pill ok' }, t('board.checkpoint-ok')), ' ',
      t('board.checkpoint-witnesses', { n: c.cosigned_by.length, required: c.witnesses_required })),
    el('dl', { class: 'facts' },
      el('dt', {}, t('board.origin')), el('dd', {}, c.origin),
      el('dt', {}, t('board.size')), el('dd', {}, num(c.size)),
      el('dt', {}, t('board.root')), el('dd', { class: 'mono' }, c.root)),
    el('table', {},
      el('caption', {}, t('board.cosignatures')),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('board.witness')), el('th', { scope: 'col' }, t('board.cosigned-at')))),
      el('tbody', {}, ...c.cosigned_by.map(([name, time]) => el('tr', {},
        el('td', {}, name), el('td', {}, time ? new Date(time * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '–'))))),
  );
}

function renderResult() {
  const e = state.election;
  const box = $('result');
  if (!e) return;
  if (!e.result) {
    box.replaceChildren(el('p', {}, t('board.no-result', { phase: phaseText(e.phase) })));
    return;
  }
  box.replaceChildren(
    el('p', {}, t('board.result-intro', { trustees: (e.decrypting_trustees || []).join(', ') })),
    ...resultFigures(e));
}

/** A verifier finding's category (`what`), translated when known. */
function findingText(what) {
  const key = `finding.${what.replaceAll(' ', '-')}`;
  return hasText(key) ? t(key) : what;
}

function kindText(k) {
  return k ? t(`kind.${k}`) : '?';
}

function renderEntries() {
  const rows = state.entries.map((x) => el('tr', {},
    el('td', { class: 'n' }, num(x.index)),
    el('td', {}, kindText(x.kind)),
    el('td', { class: 'mono' }, (x.kind === 'ballot' || x.kind === 'audited-ballot')
      ? el('a', { href: `/check.html#${x.tracking_code}` }, x.tracking_code_short)
      : x.tracking_code_short),
    el('td', { class: 'n' }, num(x.bytes))));
  $('entries').replaceChildren(el('table', {},
    el('caption', {}, t('board.entries-range', {
      from: num(Math.max(0, state.end - PAGE)), to: num(Math.max(0, state.end - 1)), size: num(state.size),
    })),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col', class: 'n' }, t('board.index')),
      el('th', { scope: 'col' }, t('board.kind')),
      el('th', { scope: 'col' }, t('board.tracking-code')),
      el('th', { scope: 'col', class: 'n' }, t('board.bytes')))),
    el('tbody', {}, ...rows.reverse())));
  $('older').disabled = state.end - PAGE <= 0;
  $('newer').disabled = state.end >= state.size;
}

async function loadEntries() {
  const start = Math.max(0, state.end - PAGE);
  if (state.end <= start) { state.entries = []; renderEntries(); return; }
  const bytes = await api(`/api/v1/board/entries?start=${start}&end=${state.end}`, { as: 'bytes' });
  const w = await crypto();
  state.entries = JSON.parse(w.describeEntries(bytes, BigInt(start)));
  renderEntries();
}

function renderSearch() {
  const out = $('search-result');
  const r = state.search;
  if (!r) { out.replaceChildren(); return; }
  if (r.error) { out.replaceChildren(el('p', { class: 'alert' }, errorText(r.error))); return; }
  if (!r.found.length) { out.replaceChildren(el('p', { class: 'alert' }, t('board.search-none'))); return; }
  out.replaceChildren(el('ul', {}, ...r.found.map((f) => el('li', {},
    t('board.search-hit', { index: num(f.index), kind: kindText(f.kind) }), ' ',
    el('a', { href: `/check.html#${f.tracking_code}` }, `${f.tracking_code_short} — ${t('board.check-this')}`)))));
}

async function search() {
  const code = $('search').value.trim();
  if (!code) return;
  try {
    state.search = { found: await api(`/api/v1/board/search?code=${encodeURIComponent(code)}`) };
  } catch (e) {
    state.search = { error: e };
  }
  renderSearch();
}

function renderReport() {
  const r = state.report;
  const box = $('verify-report');
  if (!r) return;
  const s = r.summary;
  // A record in progress lacks the close, the tally and the result: everything there verifies, but
  // the verifier says what is missing. Any other failure makes the record invalid.
  const soFar = !r.valid && r.failures.every((f) => f.what === 'completeness');
  const items = [
    ['board.v-entries', num(s.entries)],
    ['board.v-credentials', num(s.credentials)],
    ['board.v-cast', num(s.ballots_cast)],
    // Ballots are counted by the tally: before it, "0 counted" would contradict the summary above.
    ['board.v-counted', r.valid || ['tallied', 'published'].includes(state.election?.phase)
      ? num(s.ballots_counted) : t('board.v-counted-later')],
    ['board.v-superseded', num(s.superseded)],
    ['board.v-audited', num(s.audited)],
    ['board.v-cosignatures', num(s.cosignatures)],
    // The turnout the result states, derived again by the verifier (decision rules rest on it).
    ...(s.turnout ? [['board.v-turnout', `${num(s.turnout.voted)} / ${num(s.turnout.eligible)}`]] : []),
    ['board.v-time', `${(state.timing.verify_ms / 1000).toFixed(2)} s`],
  ];
  const verdict = r.valid ? t('board.v-valid') : soFar ? t('board.v-valid-so-far') : t('board.v-invalid');
  box.replaceChildren(
    el('p', {}, el('strong', { class: r.valid || soFar ? 'pill ok' : 'pill bad' }, verdict)),
    el('dl', { class: 'facts' }, ...facts(items)),
    // The verifier's findings are in English, marked so.
    // (replaceChildren would print a null as the text "null": no list at all when nothing failed)
    // Where and what failed in the page's language; the verifier's detail in English, marked so.
    ...(r.failures.length ? [el('ul', {}, ...r.failures.slice(0, 50).map((f) => el('li', {},
      f.entry !== null && f.entry !== undefined ? `${t('board.finding-entry', { n: f.entry })} ` : '',
      f.kind ? `(${kindText(f.kind)}) ` : '',
      el('strong', {}, findingText(f.what)), ': ',
      el('span', { lang: 'en' }, f.why))))] : []),
  );
}

function renderVerifyStatus() {
  const v = state.verifyStatus;
  $('verify-status').textContent = v ? t(v.key, v.vars || {}) : '';
}

function setVerifyStatus(key, vars) {
  state.verifyStatus = key ? { key, vars } : null;
  renderVerifyStatus();
}

function verify() {
  const bar = $('verify-progress');
  $('verify-run').disabled = true;
  bar.max = Math.max(1, state.size);
  bar.value = 0;
  setVerifyStatus('board.v-downloading');
  const worker = new Worker('/js/verify-worker.js', { type: 'module' });
  const failed = (message) => {
    setVerifyStatus(null);
    say($('error'), t('error.generic', { message }));
    $('verify-run').disabled = false;
    worker.terminate();
  };
  worker.onerror = (e) => failed(e.message || 'the verifier could not start');
  worker.onmessage = (ev) => {
    const m = ev.data;
    if (m.type === 'downloaded') setVerifyStatus('board.v-verifying', { mb: (m.bytes / 1e6).toFixed(1) });
    if (m.type === 'progress') { bar.max = Math.max(bar.max, m.entries); bar.value = m.entries; }
    if (m.type === 'done') {
      bar.value = bar.max;
      state.report = m.report;
      state.timing = m;
      setVerifyStatus('board.v-done');
      renderReport();
      $('verify-run').disabled = false;
      worker.terminate();
    }
    if (m.type === 'error') failed(m.message);
  };
  worker.postMessage({ base: electionBase });
}

await setupPage();
$('search-form').addEventListener('submit', (ev) => { ev.preventDefault(); search(); });
$('verify-run').addEventListener('click', verify);
const page = (end) => {
  state.end = end;
  loadEntries().catch((e) => say($('error'), errorText(e)));
};
$('older').addEventListener('click', () => page(Math.max(PAGE, state.end - PAGE)));
$('newer').addEventListener('click', () => page(Math.min(state.size, state.end + PAGE)));
document.addEventListener('languagechange', () => {
  renderSummary(); renderCheckpoint(); renderResult(); renderEntries(); renderReport();
  renderSearch(); renderVerifyStatus();
});
try {
  state.election = await currentElection();
  renderSummary();
  renderResult();
  const w = await crypto();
  const note = await api('/api/v1/board/checkpoint', { as: 'text' });
  try {
    state.checkpoint = JSON.parse(w.verifyCheckpoint(note, state.election.manifest_entry));
  } catch (e) {
    state.checkpoint = { error: String(e.message || e) };
  }
  renderCheckpoint();
  state.size = state.checkpoint.size || 0;
  state.end = state.size;
  await loadEntries();
} catch (e) {
  say($('error'), errorText(e));
}
