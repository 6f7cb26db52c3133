// "Check my ballot": verifies a receipt (or a tracking code's current receipt) in the browser: the
// log's signature, the witnesses' cosignatures, and the Merkle inclusion proof, against any mirror.
import { setupPage, api, errorText, say, t, crypto, el, num, pick } from './common.js';

const $ = (id) => document.getElementById(id);
let last = null;

function mirrorBase() {
  const m = $('mirror').value.trim().replace(/\/+$/, '');
  return m;
}

async function electionAt(base) {
  const list = await api('/api/v1/elections', { base });
  return api(`/api/v1/elections/${encodeURIComponent(list[0].election_id)}`, { base });
}

function render() {
  if (!last) return;
  const { checks, facts, ok, audit } = last;
  $('verdict').replaceChildren(el('strong', { class: ok ? 'pill ok' : 'pill bad' }, ok ? t('check.valid') : t('check.invalid')));
  $('checks').replaceChildren(...checks.map(([good, key, vars]) => el('li', {},
    el('span', { class: good ? 'pill ok' : 'pill bad' }, good ? t('check.pass') : t('check.fail')), ' ', t(key, vars))));
  $('facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, t(k)), el('dd', { class: 'mono' }, v)]));
  // An audit file: what the audited ballot contains, decoded here from its revealed randomness.
  $('audit-choices').replaceChildren(...(audit ? [
    el('h3', {}, t('check.audit-choices')),
    ...audit.election.questions.map((q, i) => el('div', { class: 'panel' },
      el('h4', {}, pick(q.title)),
      el('ul', {}, ...(audit.choices[i].length
        ? audit.choices[i].map((j) => el('li', {}, pick(q.choices[j])))
        : [el('li', {}, t('vote.review.none'))])))),
  ] : []));
}

async function run() {
  say($('error'), '');
  $('result').hidden = true;
  const base = mirrorBase();
  const w = await crypto();
  let receipt = null;
  let auditFile = null;
  const file = $('receipt-file').files[0];
  if (file) {
    try {
      receipt = JSON.parse(await file.text());
    } catch (_) {
      say($('error'), t('check.bad-file'));
      return;
    }
    // The booth's audit file carries the audited ballot and its receipt.
    if (receipt && receipt.kind === 'audited-ballot' && receipt.receipt) {
      auditFile = receipt;
      receipt = auditFile.receipt;
    }
  }
  const code = $('code').value.trim();
  if (!receipt && !code) {
    say($('error'), t('check.need-input'));
    return;
  }
  const checks = [];
  const facts = [];
  try {
    const election = await electionAt(base);
    let audit = null;
    if (auditFile) {
      try {
        const a = JSON.parse(w.checkAudit(auditFile.entry, election.manifest_entry, election.joint_key));
        const same = JSON.stringify(a.choices) === JSON.stringify(auditFile.decoded_choices);
        checks.push([same, same ? 'check.audit-ok' : 'check.audit-differs', {}]);
        audit = { election, choices: a.choices };
      } catch (e) {
        checks.push([false, 'check.audit-bad', { why: String(e.message || e) }]);
      }
    }
    let leaf = receipt?.leaf_hash;
    if (!leaf) {
      const found = await api(`/api/v1/board/search?code=${encodeURIComponent(code)}`, { base });
      if (!found.length) {
        checks.push([false, 'check.not-found', { code }]);
        last = { checks, facts, ok: false, audit: null };
        render();
        $('result').hidden = false;
        $('h-result').focus();
        return;
      }
      leaf = found[0].tracking_code;
      facts.push(['check.kind', found[0].kind]);
    }
    if (receipt) {
      try {
        const r = JSON.parse(w.verifyReceipt(JSON.stringify(receipt), election.manifest_entry));
        checks.push([true, 'check.receipt-ok', { index: r.index, size: num(r.size), witnesses: r.witnesses_required }]);
        facts.push(['check.code-short', r.tracking_code_short]);
      } catch (e) {
        checks.push([false, 'check.receipt-bad', { why: String(e.message || e) }]);
      }
    }
    // The mirror's current proof for the same entry, checked the same way.
    try {
      const fresh = await api(`/api/v1/board/receipts/${leaf}`, { base });
      const r = JSON.parse(w.verifyReceipt(JSON.stringify(fresh), election.manifest_entry));
      const sameIndex = !receipt || receipt.index === fresh.index;
      checks.push([sameIndex, 'check.latest-ok', { index: fresh.index, size: num(r.size), witnesses: r.witnesses_required }]);
      facts.push(['check.code-short', r.tracking_code_short]);
      facts.push(['check.code-full', leaf]);
      facts.push(['check.origin', r.origin]);
    } catch (e) {
      checks.push([false, 'check.latest-bad', { why: errorText(e) }]);
    }
    const seen = new Set();
    const uniqueFacts = facts.filter(([k]) => (seen.has(k) ? false : seen.add(k)));
    last = { checks, facts: uniqueFacts, ok: checks.every(([g]) => g), audit };
    render();
    $('result').hidden = false;
    $('h-result').focus();
  } catch (e) {
    say($('error'), errorText(e));
  }
}

await setupPage();
$('check-form').addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
document.addEventListener('languagechange', render);
// A receipt's QR code opens this page with the tracking code after '#'.
const fromLink = decodeURIComponent(location.hash.slice(1));
if (fromLink) {
  $('code').value = fromLink;
  run();
}
