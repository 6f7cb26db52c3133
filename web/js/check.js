// "Check my ballot": verifies a receipt (or a tracking code's current receipt) in the browser: the
// log's signature, the witnesses' cosignatures, and the Merkle inclusion proof, against this server
// or a mirror; and decodes a Benaloh audit file independently of the booth that made it.
import {
  setupPage, api, errorText, say, t, crypto, el, num, pick, ApiError, facts as factList, electionBase, currentElection,
} from './common.js';
import { answerList } from './answers.js';

const $ = (id) => document.getElementById(id);
let last = null;

/** A mirror's address, or this page's election's base ('' for the server's only election). */
function mirrorBase() {
  return $('mirror').value.trim().replace(/\/+$/, '') || electionBase;
}

/** Person-typed short code → canonical `XXXXX-XXXXX-XXXXX-XXXXX` (as the server's search reads it). */
function canonicalShort(code) {
  const raw = code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return raw.match(/.{1,5}/g)?.join('-') ?? '';
}

function render() {
  if (!last) return;
  const { checks, facts: rows, ok, audit, standing } = last;
  const superseded = ok && standing?.standing === 'superseded';
  $('verdict').replaceChildren(el('strong', { class: !ok ? 'pill bad' : superseded ? 'pill warn' : 'pill ok' },
    !ok ? t('check.invalid') : superseded ? t('check.valid-superseded') : t('check.valid')));
  // Where the ballot stands: counted, replaced by a later ballot of the same credential, or an audit.
  $('standing').replaceChildren(...(standing ? [el('p', { class: superseded ? 'alert' : 'success' },
    t(`check.standing-${standing.standing}`, {
      index: standing.index,
      size: num(standing.size ?? 0),
      by: standing.by_index,
      code: standing.by_tracking_code_short,
    }))] : []));
  // Reasons from the verifier are English: marked so, for screen readers.
  $('checks').replaceChildren(...checks.map(([good, key, vars, detail]) => el('li', {},
    el('span', { class: good ? 'pill ok' : 'pill bad' }, good ? t('check.pass') : t('check.fail')), ' ', t(key, vars),
    detail ? el('span', { lang: 'en' }, ` (${detail})`) : null)));
  $('facts').replaceChildren(...factList(rows, { class: 'mono' }));
  // An audit file: what the audited ballot contains, decoded here from its revealed randomness.
  $('audit-choices').replaceChildren(...(audit ? [
    el('h3', {}, t('check.audit-choices')),
    ...audit.election.questions.map((q, i) => el('div', { class: 'panel' },
      el('h4', {}, pick(q.title)),
      answerList(q, audit.choices[i]))),
  ] : []));
}

function show(result) {
  last = result;
  render();
  $('result').hidden = false;
  $('h-result').focus();
}

async function run() {
  say($('error'), '');
  $('result').hidden = true;
  const base = mirrorBase();
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
  // A trust policy published apart from this server: the log key, witnesses and quorum come from
  // it, and a manifest naming others is refused (docs/ledger.md, "Trust policy").
  let policy;
  const policyFile = $('policy-file').files[0];
  if (policyFile) policy = await policyFile.text();
  const code = $('code').value.trim();
  if (!receipt && !code) {
    say($('error'), t('check.need-input'));
    return;
  }
  const checks = [];
  const facts = [];
  try {
    const w = await crypto();
    const election = await currentElection(base);
    if (base !== electionBase) {
      // A mirror must serve the same election (the manifest names the log key and witnesses).
      const home = await currentElection(electionBase);
      const same = home.manifest_entry === election.manifest_entry;
      checks.push([same, same ? 'check.mirror-same' : 'check.mirror-differs', { mirror: base }]);
    }
    checks.push(policy
      ? [true, 'check.trust-policy', {}]
      : [true, 'check.trust-manifest', {}]);
    let audit = null;
    if (auditFile) {
      try {
        const a = JSON.parse(w.checkAudit(auditFile.entry, election.manifest_entry, election.joint_key));
        const same = JSON.stringify(a.choices) === JSON.stringify(auditFile.decoded_choices)
          && a.tracking_code === receipt.leaf_hash;
        checks.push([same, same ? 'check.audit-ok' : 'check.audit-differs', {}]);
        audit = { election, choices: a.choices };
      } catch (e) {
        checks.push([false, 'check.audit-bad', {}, String(e.message || e)]);
      }
    }
    let leaf = receipt?.leaf_hash;
    if (!leaf) {
      const found = await api(`/api/v1/board/search?code=${encodeURIComponent(code)}`, { base });
      // The answer must be the code asked for (a full code exactly, a short one by its 100 bits).
      const hit = found.find((f) => f.tracking_code === code.toLowerCase()
        || f.tracking_code_short === canonicalShort(code));
      if (!hit) {
        checks.push([false, 'check.not-found', { code }]);
        show({ checks, facts, ok: false, audit: null });
        return;
      }
      leaf = hit.tracking_code;
      facts.push(['check.kind', t(`kind.${hit.kind}`)]);
    }
    if (receipt) {
      try {
        const r = JSON.parse(w.verifyReceipt(JSON.stringify(receipt), election.manifest_entry, policy));
        checks.push([true, 'check.receipt-ok', { index: r.index, size: num(r.size), witnesses: r.witnesses_required }]);
        facts.push(['check.code-short', r.tracking_code_short]);
      } catch (e) {
        checks.push([false, 'check.receipt-bad', {}, String(e.message || e)]);
      }
    }
    // The server's current proof for the same entry, checked the same way, and the entry's
    // standing (counted, superseded by a later ballot of the same credential, audit), proven with
    // signed log data and checked here: the later ballot comes with its own receipt.
    let standing = null;
    try {
      const proof = await api(`/api/v1/board/status/${leaf}`, { base });
      const fresh = proof.receipt;
      if (fresh.leaf_hash !== leaf) throw new Error('a receipt for another entry');
      const r = JSON.parse(w.verifyReceipt(JSON.stringify(fresh), election.manifest_entry, policy));
      const sameIndex = !receipt || receipt.index === fresh.index;
      checks.push([sameIndex, 'check.latest-ok', { index: fresh.index, size: num(r.size), witnesses: r.witnesses_required }]);
      facts.push(['check.code-short', r.tracking_code_short]);
      facts.push(['check.code-full', leaf]);
      facts.push(['check.origin', r.origin]);
      try {
        standing = JSON.parse(w.checkStanding(JSON.stringify(proof), leaf, election.manifest_entry, policy));
        standing.size = r.size;
      } catch (e) {
        checks.push([false, 'check.standing-bad', {}, String(e.message || e)]);
      }
    } catch (e) {
      if (e instanceof ApiError) checks.push([false, 'check.latest-refused', { why: errorText(e) }]);
      else checks.push([false, 'check.latest-bad', {}, String(e.message || e)]);
    }
    const seen = new Set();
    const uniqueFacts = facts.filter(([k]) => (seen.has(k) ? false : seen.add(k)));
    show({ checks, facts: uniqueFacts, ok: checks.every(([g]) => g), audit, standing });
  } catch (e) {
    say($('error'), errorText(e));
  }
}

await setupPage();
$('check-form').addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
document.addEventListener('languagechange', render);
// A receipt's QR code opens this page with the tracking code after '#'.
let fromLink = '';
try { fromLink = decodeURIComponent(location.hash.slice(1)); } catch (_) { fromLink = ''; }
if (/^[0-9a-fA-F]{64}$|^[0-9A-Za-z-]{20,23}$/.test(fromLink)) {
  $('code').value = fromLink;
  run();
}
