// The issuer console: an issuer organisation's account logs in, issues one certificate from a
// form or many from a CSV file, hands them over (file or the wallet link), revokes with a reason,
// and records provenance events. Every issuance is a salted commitment on the public log.
import { setupPage, api, errorText, say, t, el, download, num } from './common.js';
import { typeTitle } from './certs.js';

const $ = (id) => document.getElementById(id);
const SESSION = 'hanpyo-cert-session';
let token = sessionStorage.getItem(SESSION);
let templates = [];
let me = null;

const REASONS = ['issued-in-error', 'superseded', 'withdrawn', 'holder-request', 'fraud'];

function label(f) {
  return document.documentElement.lang === 'en' ? f.label_en : f.label_ko;
}

function fieldInput(f, prefix) {
  const id = `${prefix}-${f.name}`;
  const attrs = { id, name: f.name, required: f.required, autocomplete: 'off' };
  let input;
  if (f.kind === 'date') input = el('input', { ...attrs, type: 'date' });
  else if (f.kind === 'integer') input = el('input', { ...attrs, type: 'number', min: '0', step: '1' });
  else if (f.kind && typeof f.kind === 'object' && f.kind.choice) {
    input = el('select', attrs, el('option', { value: '' }, '—'), ...f.kind.choice.map((c) => el('option', { value: c }, c)));
  } else input = el('input', { ...attrs, type: 'text', class: f.kind === 'sha256' ? 'mono' : null, maxlength: f.kind === 'sha256' ? '64' : '200' });
  return [el('label', { for: id }, label(f), f.required ? '' : ` (${t('issuer.optional')})`), input];
}

function renderFields() {
  const tpl = templates.find((x) => x.id === $('doc-type').value);
  $('fields').replaceChildren(...(tpl ? tpl.fields.flatMap((f) => fieldInput(f, 'f')) : []));
  const bulk = templates.find((x) => x.id === $('bulk-type').value);
  $('csv-header').textContent = bulk ? `${bulk.fields.map((f) => f.name).join(',')},holder` : '';
}

function typeOptions(select) {
  const keep = select.value;
  select.replaceChildren(...me.issuer.types.map((ty) => el('option', { value: ty }, typeTitle(templates, ty))));
  if (keep) select.value = keep;
}

function walletLink(cert) {
  const bytes = new TextEncoder().encode(JSON.stringify(cert));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `/cert-wallet.html#import=${btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

function renderConsole() {
  if (!me) return;
  $('h-console').textContent = me.issuer.name;
  $('issuer-facts').replaceChildren(
    el('dt', {}, t('issuer.did')), el('dd', { class: 'mono' }, me.issuer.issuer),
    el('dt', {}, t('issuer.types')), el('dd', {}, me.issuer.types.map((ty) => typeTitle(templates, ty)).join(', ')),
    el('dt', {}, t('issuer.counts')), el('dd', {}, t('issuer.counts-text', { issued: num(me.issuer.issued_total), revoked: num(me.issuer.revoked) })));
  typeOptions($('doc-type'));
  typeOptions($('bulk-type'));
  renderFields();
  $('provenance-panel').hidden = !me.issuer.types.includes('provenance-lot');
  $('recent').replaceChildren(...me.recent.map((r) => {
    const select = el('select', { 'aria-label': t('issuer.reason-for', { index: r.status_index }) },
      ...REASONS.map((x) => el('option', { value: x }, t(`reason.${x}`))));
    return el('tr', {},
      el('td', {}, String(r.status_index)),
      el('td', {}, typeTitle(templates, r.type)),
      el('td', {}, r.issued),
      el('td', {}, r.revoked ? el('span', { class: 'pill bad' }, `${t('issuer.revoked')}: ${t(`reason.${r.revoked}`)}`) : el('span', { class: 'pill ok' }, t('issuer.active'))),
      el('td', {}, r.revoked ? '' : el('span', {}, select, ' ', el('button', {
        type: 'button', class: 'secondary', onclick: () => revoke(r.status_index, select.value),
      }, t('issuer.revoke')))));
  }));
}

async function load() {
  me = await api('/api/v1/certs/console', { token, base: '' });
  $('login').hidden = true;
  $('console').hidden = false;
  renderConsole();
}

async function guarded(fn) {
  say($('error'), '');
  try {
    await fn();
  } catch (e) {
    if (e.status === 401) {
      sessionStorage.removeItem(SESSION);
      token = null;
      $('console').hidden = true;
      $('login').hidden = false;
    }
    say($('error'), errorText(e));
    $('error').focus();
  }
}

async function login(ev) {
  ev.preventDefault();
  await guarded(async () => {
    const s = await api('/api/v1/admin/login', { method: 'POST', body: { name: $('account').value.trim(), password: $('password').value }, base: '' });
    token = s.session;
    sessionStorage.setItem(SESSION, token);
    $('password').value = '';
    await load();
    $('h-console').focus();
  });
}

async function issueOne(ev) {
  ev.preventDefault();
  await guarded(async () => {
    const fields = {};
    for (const input of $('fields').querySelectorAll('input, select')) {
      if (input.value.trim()) fields[input.name] = input.value.trim();
    }
    const body = { type: $('doc-type').value, fields };
    if ($('holder').value.trim()) body.holder = $('holder').value.trim();
    if ($('valid-until').value) body.valid_until = $('valid-until').value;
    const out = await api('/api/v1/certs/issue', { method: 'POST', body, token, base: '' });
    const cert = out.certificates[0];
    const index = cert.issuance.entry.statusIndex;
    const name = `${cert.type}-${index}.json`;
    $('issued').replaceChildren(
      t('issuer.issued', { index, log: cert.issuance.receipt.index }), ' ',
      el('button', { type: 'button', class: 'secondary', onclick: () => download(name, JSON.stringify(cert, null, 2)) }, t('issuer.download')), ' ',
      el('a', { href: walletLink(cert) }, t('issuer.to-wallet')));
    $('issued').hidden = false;
    await load();
  });
}

async function issueBulk(ev) {
  ev.preventDefault();
  await guarded(async () => {
    const file = $('csv').files[0];
    if (!file) return;
    const out = await api('/api/v1/certs/issue', { method: 'POST', body: { type: $('bulk-type').value, csv: await file.text() }, token, base: '' });
    const n = out.certificates.length;
    $('bulk-done').replaceChildren(t('issuer.bulk-issued', { n: num(n) }), ' ',
      el('button', { type: 'button', class: 'secondary', onclick: () => download('certificates.json', JSON.stringify(out.certificates, null, 2)) }, t('issuer.download-all')));
    $('bulk-done').hidden = false;
    await load();
  });
}

async function revoke(index, reason) {
  await guarded(async () => {
    await api('/api/v1/certs/revoke', { method: 'POST', body: { status_index: index, reason }, token, base: '' });
    await load();
    say($('error'), '');
  });
}

async function record(ev) {
  ev.preventDefault();
  await guarded(async () => {
    const inputs = $('inputs').value.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
      const [lot, q] = s.split('=');
      return { lot: (lot || '').trim(), quantity: Number((q || '').trim()) };
    });
    const body = { lot: $('lot').value.trim(), stage: $('stage').value, quantity: Number($('quantity').value), unit: $('unit').value, inputs };
    const out = await api('/api/v1/certs/provenance', { method: 'POST', body, token, base: '' });
    $('recorded').replaceChildren(t('issuer.recorded', { lot: body.lot, log: out.log_index }), ' ',
      el('a', { href: `/cert-provenance.html?lot=${encodeURIComponent(body.lot)}` }, t('issuer.see-history')));
    $('recorded').hidden = false;
    await load();
  });
}

async function main() {
  await setupPage();
  templates = await api('/api/v1/certs/templates', { base: '' }).catch(() => []);
  $('login-form').addEventListener('submit', login);
  $('issue-form').addEventListener('submit', issueOne);
  $('bulk-form').addEventListener('submit', issueBulk);
  $('provenance-form').addEventListener('submit', record);
  $('doc-type').addEventListener('change', renderFields);
  $('bulk-type').addEventListener('change', renderFields);
  $('logout').addEventListener('click', async () => {
    await api('/api/v1/admin/logout', { method: 'POST', token, base: '' }).catch(() => {});
    sessionStorage.removeItem(SESSION);
    token = null;
    me = null;
    $('console').hidden = true;
    $('login').hidden = false;
  });
  document.addEventListener('languagechange', renderConsole);
  if (token) await guarded(load);
}

main();
