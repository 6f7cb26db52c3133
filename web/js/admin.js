// The administrators' console: login, the election and its phase actions, the trustees' ceremony,
// the voter roll (CSV with per-line errors), the public credential list, turnout, results, the
// record and the audit log. Every action goes through the same API as the `hanpyo` CLI.
import {
  setupPage, api, errorText, say, t, hasText, pick, el, num, phaseText, download, ApiError, facts,
  electionBase,
} from './common.js';
import { resultFigures, turnoutFigure } from './charts.js';

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem('hanpyo-admin') || null,
  election: null, status: null, progress: null, turnout: null, audit: [], rollErrors: null,
  rollImported: null, newCheck: null,
  // The elections this account may act on, and the one being managed: its pages and API are at
  // `/e/<id>` (a console opened at /e/<id>/admin.html starts with that one).
  managed: null,
  selected: electionBase ? electionBase.slice(3) : sessionStorage.getItem('hanpyo-admin-election'),
};

/** The base of the managed election's routes. */
function base() {
  return state.selected ? `/e/${encodeURIComponent(state.selected)}` : '';
}

function fail(e) {
  if (e instanceof ApiError && (e.code === 'unauthorized' || e.status === 401)) {
    sessionStorage.removeItem('hanpyo-admin');
    state.token = null;
    showLogin();
  }
  say($('error'), errorText(e));
}

function showLogin() {
  $('login').hidden = false;
  $('console').hidden = true;
}

async function call(path, opts = {}) {
  const answer = await api(path, { base: base(), ...opts, token: state.token });
  // An action that succeeded makes the last error banner stale.
  if (opts.method && opts.method !== 'GET') say($('error'), '');
  return answer;
}

const ACTIONS = {
  // Closing the digest round lets the ceremony go on without a trustee that never took its first step.
  ceremony: [['close-digests', 'admin.phase.close-digests'], ['finish-ceremony', 'admin.phase.finish-ceremony']],
  credentials: [['open', 'admin.phase.open']],
  open: [['close', 'admin.phase.close']],
  closed: [['tally', 'admin.phase.tally']],
  tallied: [['publish', 'admin.phase.publish']],
  published: [],
};

/** Switches the console to election `id`. */
async function manage(id) {
  state.selected = id;
  sessionStorage.setItem('hanpyo-admin-election', id);
  Object.assign(state, { election: null, status: null, progress: null, turnout: null, rollErrors: null, rollImported: null, invite: null });
  message('admin.switched', { id });
  await refresh();
  $('h-elections').focus();
}

/** Every election this account may act on; the managed one with its ballots, the others with a button. */
function renderElections() {
  const e = state.election;
  const list = state.managed?.elections || [];
  if (!e) return;
  $('elections').replaceChildren(el('div', { class: 'table-scroll' }, el('table', {},
    el('caption', {}, t(state.managed?.platform ? 'admin.elections-caption' : 'admin.elections-caption-scoped')),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, t('admin.election-id')),
      el('th', { scope: 'col' }, t('admin.election-title')),
      el('th', { scope: 'col' }, t('board.phase')),
      el('th', { scope: 'col', class: 'n' }, t('board.ballots')),
      el('th', { scope: 'col' }, t('admin.election-manage')))),
    el('tbody', {}, ...list.map((x) => {
      const here = x.election_id === e.election_id;
      return el('tr', { 'aria-current': here ? 'true' : null },
        el('td', { class: 'mono' }, x.election_id),
        el('td', {}, pick(x.title)),
        el('td', {}, phaseText(here ? e.phase : x.phase)),
        el('td', { class: 'n' }, here ? num(e.ballots) : ''),
        el('td', {}, here
          ? el('span', { class: 'badge' }, t('admin.election-managing'))
          : el('button', {
            type: 'button', class: 'secondary', id: `manage-${x.election_id}`,
            'aria-label': t('admin.election-switch', { title: pick(x.title) }),
            onclick: () => manage(x.election_id),
          }, t('admin.election-switch-short'))));
    })))));
}

function renderStatus() {
  renderStatusFacts();
  renderPhaseActions();
}

function renderPhaseActions() {
  const s = state.status;
  if (!s) return;
  state.actionsPhase = s.phase;
  $('phase-actions').replaceChildren(...(ACTIONS[s.phase] || []).map(([action, key]) => el('button', {
    type: 'button',
    id: `action-${action}`,
    class: action === 'close' ? 'danger' : null,
    onclick: () => phaseAction(action, key),
  }, t(key))));
}

function renderStatusFacts() {
  const s = state.status;
  if (!s) return;
  const rows = [
    ['board.phase', phaseText(s.phase)],
    ['admin.roll', num(s.roll)],
    ['admin.credentials', num(s.credentials)],
    ['board.ballots', num(s.ballots)],
    ['board.counted', num(s.counted)],
    ['board.audited', num(s.audited)],
  ];
  $('status-facts').replaceChildren(...facts(rows));
}

function message(key, vars) {
  state.message = key ? { key, vars } : null;
  renderMessage();
}

function renderMessage() {
  $('status').textContent = state.message ? t(state.message.key, state.message.vars || {}) : '';
}

async function phaseAction(action, key) {
  if (!window.confirm(t(`admin.confirm.${action}`))) return;
  say($('error'), '');
  try {
    await call(`/api/v1/admin/${action}`, { method: 'POST', body: '' });
    message('admin.phase.done', { action: t(key) });
    await refresh();
    $('h-phase').focus();
  } catch (e) { fail(e); }
}

function renderTrustees() {
  const p = state.progress;
  if (!p) return;
  const yes = (b) => el('span', { class: b ? 'pill ok' : 'pill' }, b ? t('common.yes') : t('common.no'));
  $('trustees').replaceChildren(
    el('p', {}, t('admin.trustees.threshold', { t: p.threshold, n: p.trustees.length })),
    el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': t('admin.trustees.caption') }, el('table', {},
      el('caption', {}, t('admin.trustees.caption')),
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, t('admin.trustees.trustee')),
        el('th', { scope: 'col' }, t('admin.trustees.registered')),
        el('th', { scope: 'col' }, t('admin.trustees.commitment')),
        el('th', { scope: 'col', class: 'n' }, t('admin.trustees.shares')),
        el('th', { scope: 'col', class: 'n' }, t('admin.trustees.complaints')),
        el('th', { scope: 'col' }, t('admin.trustees.confirmed')),
        el('th', { scope: 'col' }, t('admin.trustees.partial')),
        // Ranked questions add the mix-net: each trustee's shuffle and decryption of the mixed ballots.
        ...(p.ranked ? [el('th', { scope: 'col' }, t('admin.trustees.shuffled')), el('th', { scope: 'col' }, t('admin.trustees.decrypted-rows'))] : []),
        el('th', { scope: 'col' }, t('admin.trustees.invite')))),
      el('tbody', {}, ...p.trustees.map((x) => el('tr', {},
        el('th', { scope: 'row' }, String(x.trustee)),
        el('td', {}, yes(x.registered)),
        el('td', {}, yes(x.commitment)),
        el('td', { class: 'n' }, num(x.shares_sent)),
        el('td', { class: 'n' }, num(x.complaints_filed)),
        el('td', {}, yes(Boolean(x.confirmed))),
        el('td', {}, yes(x.partial_decryption)),
        ...(p.ranked ? [el('td', {}, yes(x.shuffled)), el('td', {}, yes(x.decrypted_rows))] : []),
        el('td', {}, el('button', {
          type: 'button', class: 'secondary', onclick: () => invite(x.trustee),
          'aria-label': t('admin.trustees.invite-one', { n: x.trustee }),
        }, t('admin.trustees.invite')))))))));
}

async function invite(n) {
  try {
    const r = await call(`/api/v1/admin/trustees/${n}/invite`, { method: 'POST', body: '' });
    state.invite = { n, token: r.token };
    renderInvite();
  } catch (e) { fail(e); }
}

function renderInvite() {
  const i = state.invite;
  $('trustee-token').replaceChildren(...(i ? [el('div', { class: 'panel' },
    el('p', {}, t('admin.trustees.token', { n: i.n })), el('p', { class: 'mono' }, i.token))] : []));
}

function renderRoll() {
  const box = $('roll-result');
  if (state.rollImported !== null) {
    const { imported, encoding } = state.rollImported;
    box.replaceChildren(el('p', { class: 'success', role: 'status' }, t('admin.roll.imported', { n: num(imported) }),
      ' ', t('admin.roll.read-as', { encoding: encoding === 'cp949' ? 'CP949' : 'UTF-8' })));
  } else if (state.rollErrors) {
    const { errors } = state.rollErrors;
    box.replaceChildren(el('div', { class: 'alert', role: 'alert' },
      el('p', {}, state.rollErrors.code === 'already-on-roll'
        ? t('admin.roll.already') : t('admin.roll.refused', { n: errors.length })),
      el('table', {},
        el('caption', {}, t('admin.roll.caption')),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', class: 'n' }, t('admin.roll.line')), el('th', { scope: 'col' }, t('admin.roll.problem')))),
        // Each problem in the page's language from its code; the server's English only as a fallback.
        el('tbody', {}, ...errors.slice(0, 200).map((x) => el('tr', {}, el('td', { class: 'n' }, String(x.line)),
          hasText(`roll.${x.code}`) ? el('td', {}, t(`roll.${x.code}`)) : el('td', { lang: 'en' }, x.error)))))));
  } else {
    box.replaceChildren();
  }
}

async function importRoll() {
  const f = $('roll-file').files[0];
  if (!f) { say($('error'), t('admin.need-file')); return; }
  state.rollErrors = null;
  state.rollImported = null;
  try {
    // The file's bytes as they are: the server decodes UTF-8 or CP949 strictly (f.text() would
    // turn a Korean Excel CSV into replacement characters).
    const encoding = encodeURIComponent($('roll-encoding').value);
    const body = new Uint8Array(await f.arrayBuffer());
    state.rollImported = await call(`/api/v1/admin/roll?encoding=${encoding}`, { method: 'POST', body });
  } catch (e) {
    // Problems with the file are shown beside the roll form, with their lines.
    if (e instanceof ApiError && ['bad-roll', 'already-on-roll'].includes(e.code)) {
      state.rollErrors = { code: e.code, message: e.message, errors: e.body.errors || [] };
    } else fail(e);
  }
  renderRoll();
  await refresh();
}

async function uploadCredentials() {
  const f = $('credentials-file').files[0];
  if (!f) { say($('error'), t('admin.need-file')); return; }
  try {
    const r = await call('/api/v1/admin/credentials', { method: 'POST', body: await f.text() });
    $('credentials-result').replaceChildren(el('p', { class: 'success' }, t('admin.credentials.done', { size: num(r.ledger_size) })));
    await refresh();
  } catch (e) {
    $('credentials-result').replaceChildren(el('p', { class: 'alert' }, errorText(e)));
  }
}

function renderTurnout() {
  const x = state.turnout;
  if (!x) return;
  const rate = x.credentials ? `${((100 * x.counted) / x.credentials).toFixed(1)}%` : '–';
  $('turnout').replaceChildren(
    el('p', {}, t('admin.turnout.summary', { counted: num(x.counted), credentials: num(x.credentials), rate })),
    turnoutFigure(x.series),
    // The three figures count different things at different moments: say so, or they seem to disagree.
    el('p', { class: 'hint' }, t('admin.turnout.series-note', { ballots: num(x.ballots) })),
    el('p', { class: 'hint' }, t('admin.turnout.districts-age', { seconds: num(x.districts_age_seconds) })),
    el('table', {},
      el('caption', {}, t('admin.turnout.districts')),
      el('thead', {}, el('tr', {},
        el('th', { scope: 'col' }, t('admin.turnout.district')),
        el('th', { scope: 'col', class: 'n' }, t('admin.roll')),
        el('th', { scope: 'col', class: 'n' }, t('admin.turnout.voted')),
        el('th', { scope: 'col', class: 'n' }, t('chart.share')))),
      el('tbody', {}, ...x.districts.map((d) => el('tr', {},
        el('th', { scope: 'row' }, d.district),
        el('td', { class: 'n' }, num(d.roll)),
        el('td', { class: 'n' }, num(d.voted)),
        el('td', { class: 'n' }, d.roll ? `${((100 * d.voted) / d.roll).toFixed(1)}%` : '–'))))));
}

function renderResults() {
  const e = state.election;
  if (!e) return;
  $('results').replaceChildren(...(e.result
    ? resultFigures(e)
    : [el('p', {}, t('board.no-result', { phase: phaseText(e.phase) }))]));
}

function renderAudit() {
  $('audit-log').replaceChildren(el('table', {},
    el('caption', {}, t('admin.audit.caption', { n: state.audit.length })),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, t('admin.audit.time')),
      el('th', { scope: 'col' }, t('admin.audit.account')),
      el('th', { scope: 'col' }, t('admin.audit.action')),
      el('th', { scope: 'col' }, t('admin.audit.outcome')))),
    el('tbody', {}, ...state.audit.slice(-100).reverse().map((a) => el('tr', {},
      el('td', {}, new Date(a.time * 1000).toISOString().replace('T', ' ').slice(0, 19)),
      el('td', {}, a.account),
      el('td', {}, a.action),
      // Outcomes may name keys (an issuer's `issuer:z6Mk…` scope): long words wrap anywhere.
      el('td', { class: 'wrap-anywhere' }, a.outcome))))));
}

/** The record downloads name the managed election's files. */
function renderRecordLinks() {
  for (const a of document.querySelectorAll('a[download][href*="/api/v1/record/"]')) {
    a.href = `${base()}/api/v1/record/${a.getAttribute('download')}`;
  }
}

function renderAll() {
  renderMessage();
  renderRecordLinks();
  if (!state.election) { renderAudit(); renderNewCheck(); return; }
  renderInvite();
  renderElections(); renderStatus(); renderTrustees(); renderRoll(); renderTurnout(); renderResults(); renderAudit();
  renderNewCheck();
}

/** Before this account has an election: only the creation form (platform accounts) and the audit log. */
async function showSetup() {
  state.election = null;
  state.audit = await call('/api/v1/admin/audit-log', { base: '' });
  $('login').hidden = true;
  $('console').hidden = false;
  $('no-election').hidden = false;
  $('elections').replaceChildren();
  $('election-sections').hidden = true;
  if (!state.setupShown) $('new-election').open = true;
  state.setupShown = true;
  $('new-election').hidden = !state.managed?.platform;
  $('new-create').hidden = false;
  renderAudit();
  renderNewCheck();
}

/**
 * Reloads everything. `quiet` (the 15-second live update) redraws only what has no focusable
 * controls or live announcements, so a keyboard or screen-reader user is not interrupted.
 */
async function refresh({ quiet = false } = {}) {
  try {
    state.managed = await call('/api/v1/admin/elections', { base: '' });
    const list = state.managed.elections;
    if (!list.length) {
      if (!quiet) await showSetup();
      return;
    }
    if (!list.some((x) => x.election_id === state.selected)) state.selected = list[0].election_id;
    $('no-election').hidden = true;
    $('election-sections').hidden = false;
    // A platform account creates elections beside the ones it manages.
    $('new-election').hidden = !state.managed.platform;
    $('new-create').hidden = !state.managed.platform;
    const [election, status, progress, turnout, audit] = await Promise.all([
      api(`/api/v1/elections/${encodeURIComponent(state.selected)}`, { base: base() }),
      call('/api/v1/admin/status'),
      api('/api/v1/progress', { base: base() }),
      call('/api/v1/admin/turnout'),
      call('/api/v1/admin/audit-log'),
    ]);
    const hadResult = Boolean(state.election?.result);
    Object.assign(state, { election, status, progress, turnout, audit });
    $('login').hidden = true;
    $('console').hidden = false;
    if (!quiet) {
      renderAll();
      return;
    }
    renderElections();
    renderStatusFacts();
    if (state.actionsPhase !== status.phase) renderPhaseActions();
    if (!$('trustees').contains(document.activeElement)) renderTrustees();
    renderTurnout();
    if (!hadResult && election.result) renderResults();
    renderAudit();
  } catch (e) { fail(e); }
}

// ---- New election: a manifest from the form (or a file), checked by the server.
function tomlString(s) {
  return JSON.stringify(s); // a JSON string is a valid TOML basic string
}
/** A Korean–English text as a TOML inline table. */
function tomlText(x) {
  return `{ ko = ${tomlString(x.ko)}, en = ${tomlString(x.en)} }`;
}
function splitPair(s) {
  const [ko, en] = s.split('|').map((x) => x.trim());
  return { ko: ko || '', en: en || ko || '' };
}
/** The question's kind and its parameters as TOML lines; the server checks every limit. */
function questionKindLines() {
  const text = tomlText;
  const kind = $('new-kind').value;
  if (kind === 'score') {
    const budget = $('new-budget').value.trim();
    return ['kind = "score"', `max_score = ${Number($('new-max-score').value) || 0}`, ...(budget ? [`budget = ${Number(budget) || 0}`] : [])];
  }
  if (kind === 'scale') {
    const steps = $('new-steps').value.split('\n').map((l) => l.trim()).filter(Boolean).map(splitPair);
    return ['kind = "scale"', 'steps = [', ...steps.map((s) => `  ${text(s)},`), ']'];
  }
  if (kind === 'ranked') {
    const ranks = $('new-ranks').value.trim();
    return ['kind = "ranked"', `method = ${tomlString($('new-method').value)}`, ...(ranks ? [`ranks = ${Number(ranks) || 0}`] : [])];
  }
  const max = Number($('new-max').value) || 1;
  return [
    `kind = ${tomlString(max === 1 ? 'choose-one' : 'choose-range')}`,
    ...(max === 1 ? [] : ['min = 0', `max = ${max}`]),
    // The server checks the fraction (and that the question takes exactly one choice).
    ...($('new-decision').value.trim() ? [`decision = { min_turnout = ${tomlString($('new-decision').value.trim())} }`] : []),
  ];
}

/** Shows the fields of the chosen question kind. */
function showKindFields() {
  const kind = $('new-kind').value;
  for (const k of ['choose', 'score', 'scale', 'ranked']) $(`new-kind-${k}`).hidden = k !== kind;
  $('new-decision-box').hidden = kind !== 'choose';
}

function manifestFromForm() {
  const title = { ko: $('new-title-ko').value.trim(), en: $('new-title-en').value.trim() };
  const q = splitPair($('new-question').value);
  const choices = $('new-choices').value.split('\n').map((l) => l.trim()).filter(Boolean).map(splitPair);
  const [n, k] = $('new-trustees').value.split('/').map((x) => Number(x.trim()));
  const text = tomlText;
  return [
    `election_id = ${tomlString($('new-id').value.trim())}`,
    `opens_at = ${$('new-opens').value.trim()}`,
    `closes_at = ${$('new-closes').value.trim()}`,
    `trustees = ${n || 0}`,
    `threshold = ${k || 0}`,
    `title = ${text(title)}`,
    '',
    '[[questions]]',
    ...questionKindLines(),
    `title = ${text(q)}`,
    'choices = [',
    ...choices.map((c) => `  ${text(c)},`),
    ']',
    '',
  ].join('\n');
}

function renderNewCheck() {
  const c = state.newCheck;
  const box = $('new-result');
  if (!c) { box.replaceChildren(); return; }
  if (c.error) {
    box.replaceChildren(el('p', { class: 'alert', role: 'alert' }, t('admin.new.refused'), ' ', el('span', { lang: 'en' }, c.error)));
    return;
  }
  box.replaceChildren(el('div', { class: 'success', role: 'status' },
    el('p', {}, t('admin.new.valid', { id: c.result.election_id, questions: c.result.questions, n: c.result.trustees, t: c.result.threshold })),
    el('button', { type: 'button', class: 'secondary', onclick: () => download('manifest.toml', c.source, 'application/toml') }, t('admin.new.download'))));
}

async function checkNew() {
  const f = $('new-file').files[0];
  const source = f ? await f.text() : manifestFromForm();
  try {
    const result = await call('/api/v1/admin/manifest-check', { method: 'POST', body: source, base: '' });
    state.newCheck = { result, source };
  } catch (e) {
    state.newCheck = { error: e instanceof ApiError ? e.message : String(e) };
  }
  renderNewCheck();
}

/** Creates the election (served at once at /e/<id>/) and switches the console to it. */
async function createNew() {
  const f = $('new-file').files[0];
  const source = f ? await f.text() : manifestFromForm();
  say($('error'), '');
  try {
    const created = await call('/api/v1/admin/elections', { method: 'POST', body: source, base: '' });
    state.newCheck = null;
    $('new-election').open = false;
    state.selected = created.election_id;
    sessionStorage.setItem('hanpyo-admin-election', created.election_id);
    Object.assign(state, { election: null, status: null, progress: null, turnout: null });
    await refresh();
    message('admin.new.created', { id: created.election_id });
  } catch (e) {
    if (e instanceof ApiError && e.code === 'bad-manifest') {
      state.newCheck = { error: e.message };
      renderNewCheck();
    } else {
      fail(e);
    }
  }
}

function defaultDates() {
  const d = new Date(Date.now() + 7 * 86400_000);
  const day = d.toISOString().slice(0, 10);
  $('new-opens').value = `${day}T09:00:00+09:00`;
  $('new-closes').value = `${day}T20:00:00+09:00`;
}

await setupPage();
defaultDates();
$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  say($('error'), '');
  try {
    const r = await api('/api/v1/admin/login', {
      base: '',
      method: 'POST',
      body: { name: $('admin-name').value.trim(), password: $('admin-password').value },
    });
    state.token = r.session;
    sessionStorage.setItem('hanpyo-admin', r.session);
    $('admin-password').value = '';
    await refresh();
    document.getElementById('h-elections').focus?.();
  } catch (e) { fail(e); }
});
$('logout').addEventListener('click', async () => {
  try { await call('/api/v1/admin/logout', { method: 'POST', body: '', base: '' }); } catch (_) { /* ended anyway */ }
  sessionStorage.removeItem('hanpyo-admin');
  state.token = null;
  showLogin();
});
$('refresh').addEventListener('click', () => refresh());
$('roll-form').addEventListener('submit', (ev) => { ev.preventDefault(); importRoll(); });
$('credentials-form').addEventListener('submit', (ev) => { ev.preventDefault(); uploadCredentials(); });
$('new-form').addEventListener('submit', (ev) => { ev.preventDefault(); checkNew(); });
$('new-kind').addEventListener('change', showKindFields);
$('new-create').addEventListener('click', createNew);
document.addEventListener('languagechange', renderAll);
if (state.token) await refresh();
else showLogin();
// Live turnout while the page is open.
setInterval(() => { if (state.token && !document.hidden) refresh({ quiet: true }); }, 15_000);
