// "My certificates": a key made on this device, certificates kept here (localStorage), each
// checked in the browser; a presentation to one verifier with only the chosen fields, left on the
// server's relay for one fetch and shown as a QR code.
import { setupPage, api, errorText, say, t, el, download } from './common.js';
import { certsWasm, registry, fetchStatus, typeTitle, refusalText, fieldLabel, now } from './certs.js';

const $ = (id) => document.getElementById(id);
const KEY = 'hanpyo-wallet-key';
const STORE = 'hanpyo-wallet';
let templates = [];
let reg = null;
let selected = -1;
let shownText = null;

function stored() {
  try { return JSON.parse(localStorage.getItem(STORE)) || []; } catch (_) { return []; }
}
function store(list) {
  localStorage.setItem(STORE, JSON.stringify(list));
}

async function holderKey() {
  const w = await certsWasm();
  let k = null;
  try { k = JSON.parse(localStorage.getItem(KEY)); } catch (_) { k = null; }
  if (!k?.seed) {
    k = JSON.parse(w.certNewHolderKey());
    localStorage.setItem(KEY, JSON.stringify(k));
  }
  return k;
}

async function check(text) {
  const w = await certsWasm();
  const options = { now: now(), trust: reg ? reg.trust : undefined, allowUncheckedStatus: true };
  return JSON.parse(w.certVerify(text, JSON.stringify(options)));
}

async function add(text) {
  const result = await check(text);
  if (!result.valid) {
    say($('error'), `${t('wallet.not-added')} ${refusalText(result.code)}`);
    $('error').focus();
    return;
  }
  const list = stored();
  if (!list.includes(text)) list.push(text);
  store(list);
  say($('notice'), t('wallet.added', { type: typeTitle(templates, result.verified.type) }));
  await render();
}

async function refreshStatus(i) {
  const list = stored();
  const bundle = JSON.parse(list[i]);
  const status = await fetchStatus(bundle);
  if (!status) {
    say($('error'), t('wallet.status-unreachable'));
    return;
  }
  bundle.status = status;
  list[i] = JSON.stringify(bundle);
  store(list);
  say($('notice'), t('wallet.status-refreshed'));
  await render();
}

async function render() {
  const list = stored();
  $('empty').hidden = list.length > 0;
  const items = [];
  for (const [i, text] of list.entries()) {
    const r = await check(text);
    const v = r.verified;
    const title = v ? typeTitle(templates, v.type) : t('wallet.unreadable');
    const state = !r.valid ? el('span', { class: 'pill bad' }, refusalText(r.code))
      : v.status.state === 'active' ? el('span', { class: 'pill ok' }, t('wallet.state-active', { asOf: v.status.asOf }))
        : el('span', { class: 'pill warn' }, t('wallet.state-unchecked'));
    items.push(el('li', { class: 'panel' },
      el('h3', {}, title),
      v ? el('p', {}, t('wallet.issued-by', { issuer: v.issuerName, from: v.validFrom.slice(0, 10) }),
        v.validUntil ? ` · ${t('wallet.until', { until: v.validUntil.slice(0, 10) })}` : '') : null,
      el('p', {}, state),
      el('div', { class: 'actions' },
        el('button', { type: 'button', onclick: () => choose(i) }, t('wallet.present-this')),
        el('button', { type: 'button', class: 'secondary', onclick: () => refreshStatus(i) }, t('wallet.refresh')),
        el('button', { type: 'button', class: 'secondary', onclick: () => download(`certificate-${i + 1}.json`, text) }, t('wallet.save')),
        el('button', { type: 'button', class: 'secondary', onclick: () => remove(i) }, t('wallet.remove')))));
  }
  $('certs').replaceChildren(...items);
}

async function remove(i) {
  const list = stored();
  list.splice(i, 1);
  store(list);
  $('present').hidden = true;
  await render();
}

async function choose(i) {
  selected = i;
  const text = stored()[i];
  const w = await certsWasm();
  const names = JSON.parse(w.certDisclosable(text));
  const bundle = JSON.parse(text);
  $('present-what').textContent = typeTitle(templates, bundle.type);
  $('disclose-set').hidden = names.length === 0;
  $('disclose').replaceChildren(...names.map((n) => {
    return el('label', { class: 'choice' }, el('input', { type: 'checkbox', name: 'disclose', value: n }), ' ',
      fieldLabel(templates, bundle.type, n));
  }));
  $('shown').hidden = true;
  $('present').hidden = false;
  $('h-present').focus();
}

async function present(ev) {
  ev.preventDefault();
  say($('error'), '');
  try {
    const w = await certsWasm();
    const key = await holderKey();
    const names = [...document.querySelectorAll('input[name=disclose]:checked')].map((x) => x.value);
    const text = stored()[selected];
    shownText = w.certPresent(text, key.seed, JSON.stringify(names), $('audience').value.trim(), $('nonce').value.trim(), now());
    const relayed = await api('/api/v1/certs/presentations', { method: 'POST', body: shownText, base: '' });
    const link = `${location.origin}/cert-verify.html#p=${relayed.id}`;
    $('qr').innerHTML = w.qrSvg(link);
    $('qr').setAttribute('aria-label', t('wallet.qr', { code: relayed.id }));
    for (const svg of $('qr').querySelectorAll('svg')) svg.setAttribute('aria-hidden', 'true');
    $('relay-code').textContent = relayed.id;
    $('shown').hidden = false;
  } catch (e) {
    say($('error'), errorText(e));
    $('error').focus();
  }
}

/**
 * A verifier's request link (`#request=<audience>|<nonce>`) fills the presentation form; an
 * issuer's hand-over (`#import=<base64url certificate>`) adds the certificate.
 */
async function fromLink() {
  const req = location.hash.match(/^#request=([^|]+)\|([0-9a-f]{8,64})$/);
  if (req) {
    $('audience').value = decodeURIComponent(req[1]);
    $('nonce').value = req[2];
  }
  const imp = location.hash.match(/^#import=([A-Za-z0-9_-]+)$/);
  if (imp) {
    history.replaceState(null, '', location.pathname);
    const bin = atob(imp[1].replace(/-/g, '+').replace(/_/g, '/'));
    await add(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  }
}

async function main() {
  await setupPage();
  templates = await api('/api/v1/certs/templates', { base: '' }).catch(() => []);
  reg = await registry().catch(() => null);
  const key = await holderKey();
  $('did').textContent = key.did;
  $('copy-did').addEventListener('click', () => navigator.clipboard?.writeText(key.did));
  $('file').addEventListener('change', async () => {
    const f = $('file').files[0];
    if (f) await add(await f.text()).catch((e) => say($('error'), errorText(e)));
    $('file').value = '';
  });
  $('present-form').addEventListener('submit', present);
  $('download-shown').addEventListener('click', () => shownText && download('presentation.json', shownText));
  document.addEventListener('languagechange', render);
  window.addEventListener('hashchange', () => fromLink().catch((e) => say($('error'), errorText(e))));
  await fromLink();
  await render();
}

main();
