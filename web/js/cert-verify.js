// "Check a certificate": a one-time request (nonce) for the holder, then the presentation (by its
// relay code, its QR link or a file) verified in this browser with the registry's anchors.
import { setupPage, api, errorText, say, t, el, when } from './common.js';
import { certsWasm, registry, fetchStatus, fieldRows, refusalText, typeTitle, now } from './certs.js';

const $ = (id) => document.getElementById(id);
let request = null;
let templates = [];
let last = null;

function newRequest() {
  const b = new Uint8Array(9);
  globalThis.crypto.getRandomValues(b);
  const nonce = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  request = { audience: `${location.origin}/cert-verify.html`, nonce };
  sessionStorage.setItem('hanpyo-verify-request', JSON.stringify(request));
  showRequest();
}

async function showRequest() {
  $('request').replaceChildren(
    el('dt', {}, t('verify.audience')), el('dd', { class: 'mono' }, request.audience),
    el('dt', {}, t('verify.nonce')), el('dd', { class: 'mono', id: 'nonce-value' }, request.nonce));
  const link = `${location.origin}/cert-wallet.html#request=${encodeURIComponent(request.audience)}|${request.nonce}`;
  const w = await certsWasm();
  $('request-qr').innerHTML = w.qrSvg(link);
  $('request-qr').setAttribute('aria-label', t('verify.request-qr', { nonce: request.nonce }));
  for (const svg of $('request-qr').querySelectorAll('svg')) svg.setAttribute('aria-hidden', 'true');
}

function render() {
  if (!last) return;
  const { result, bundle } = last;
  const ok = result.valid;
  $('verdict').replaceChildren(el('strong', { class: ok ? 'pill ok' : 'pill bad' }, ok ? t('verify.valid') : t('verify.refused')));
  if (ok) {
    const v = result.verified;
    $('reason').replaceChildren(t('verify.valid-text', { type: typeTitle(templates, v.type), issuer: v.issuerName }));
    $('fields').replaceChildren(...fieldRows(templates, v));
    const checks = [
      t('verify.check-signature'),
      t('verify.check-issuer', { issuer: v.issuerName }),
      t('verify.check-log', { index: v.logIndex, size: v.checkpointSize }),
      v.status.state === 'active' ? t('verify.check-status', { asOf: v.status.asOf }) : t('verify.check-status-unchecked'),
      v.validUntil ? t('verify.check-validity', { until: v.validUntil }) : t('verify.check-validity-open'),
      v.presentedTo ? t('verify.check-holder') : t('verify.check-no-holder'),
    ];
    $('checks').replaceChildren(...checks.map((c) => el('li', {}, el('span', { class: 'pill ok' }, t('check.pass')), ' ', c)));
  } else {
    $('reason').replaceChildren(refusalText(result.code), ' ', el('span', { lang: 'en', class: 'muted' }, `(${result.reason})`));
    $('fields').replaceChildren();
    $('checks').replaceChildren();
  }
  void bundle;
}

async function verifyText(text) {
  const w = await certsWasm();
  const bundle = JSON.parse(text);
  const reg = await registry();
  if (!reg) {
    // Without this server's registry there are no anchors to pin: a certificate would vouch for
    // its own log. Refuse rather than show it as valid.
    say($('error'), t('verify.no-registry'));
    $('error').focus();
    return;
  }
  const options = {
    now: now(),
    trust: reg.trust,
    allowUncheckedStatus: false,
    challenge: $('require-presentation').checked ? { ...request, maxAge: 300 } : undefined,
  };
  // Everything but the status first, the stapled list set aside: only a certificate that holds
  // otherwise makes this page fetch its issuer's status list (whose address the issuer signed).
  const bare = { ...bundle };
  delete bare.status;
  let result = JSON.parse(w.certVerify(JSON.stringify(bare), JSON.stringify({ ...options, allowUncheckedStatus: true })));
  if (result.valid) {
    const status = await fetchStatus(bundle);
    result = JSON.parse(w.certVerify(text, JSON.stringify({ ...options, status: status ?? undefined })));
  }
  last = { result, bundle };
  // A request is answered once: the next presentation needs a new nonce (no replay on this page).
  if ($('require-presentation').checked) newRequest();
  render();
  $('result').hidden = false;
  $('h-result').focus();
}

async function run(ev) {
  ev?.preventDefault();
  say($('error'), '');
  try {
    let text;
    const file = $('file').files[0];
    const code = $('code').value.trim().toLowerCase();
    if (file) {
      text = await file.text();
    } else if (/^[0-9a-f]{24}$/.test(code)) {
      text = await api(`/api/v1/certs/presentations/${code}`, { base: '', as: 'text' });
    } else {
      say($('error'), t('verify.need-input'));
      $('error').focus();
      return;
    }
    await verifyText(text);
  } catch (e) {
    say($('error'), errorText(e));
    $('error').focus();
  }
}

async function main() {
  await setupPage();
  templates = await api('/api/v1/certs/templates', { base: '' }).catch(() => []);
  try {
    request = JSON.parse(sessionStorage.getItem('hanpyo-verify-request'));
  } catch (_) { request = null; }
  if (!request?.nonce) newRequest(); else showRequest();
  $('new-request').addEventListener('click', newRequest);
  $('verify-form').addEventListener('submit', run);
  document.addEventListener('languagechange', () => { showRequest(); render(); });
  // A QR code from the holder's page: /cert-verify.html#p=<code>.
  const m = location.hash.match(/^#p=([0-9a-f]{24})$/);
  if (m) {
    $('code').value = m[1];
    history.replaceState(null, '', location.pathname);
    run();
  }
  void when;
}

main();
