// The voting booth: login (identity + one-time code), credential, one question per screen, review,
// Benaloh audit, cast, receipt. The ballot is encrypted, proven and signed here, in WebAssembly;
// only the encrypted ballot leaves the device.
import {
  setupPage, api, errorText, say, t, pick, currentElection, crypto, download, el, phaseText, when, facts,
  electionBase,
} from './common.js';
import {
  answerError, answerInputs, answerList, isRanked, isScore, limitText, readAnswer, sameAnswer, showAnswerState,
} from './answers.js';

const $ = (id) => document.getElementById(id);
const STEPS = ['closed', 'login', 'code', 'credential', 'question', 'review', 'audit', 'receipt'];

// The last receipt stays in this tab (a reload shows it again) until the voter presses "finish".
const RECEIPT_KEY = 'hanpyo-receipt';
// Steps whose answers live only in memory: leaving the page then asks first.
const UNSAVED_STEPS = ['question', 'review', 'audit'];

const booth = {
  election: null,
  session: sessionStorage.getItem('hanpyo-session') || null,
  credential: null, // kept in memory only
  selections: [],
  question: 0,
  step: 'login',
  receipt: null,
  audit: null,
  demo: null,
  demoVoter: null,
};

function show(step, focus = true) {
  booth.step = step;
  for (const s of STEPS) $(`step-${s}`).hidden = s !== step;
  // The demo's voters fill the login and credential forms; elsewhere they would only distract.
  $('demo-panel').hidden = !(booth.demo?.voters?.length && (step === 'login' || step === 'credential'));
  say($('error'), '');
  if (focus) {
    const h = document.querySelector(`#step-${step} h2`);
    if (h) h.focus();
  }
}

/** Shows an error where the voter is looking: on a phone the alert at the top is off-screen, so
 * it is scrolled into view and focused (it has tabindex=-1), which also reads it out. */
function showError(text) {
  const box = $('error');
  say(box, text);
  box.scrollIntoView({ block: 'center' });
  box.focus({ preventScroll: true });
}

function fail(e) {
  showError(errorText(e));
}

function status(text) {
  $('status').textContent = text || '';
}

function renderQuestion() {
  const qs = booth.election.questions;
  const i = booth.question;
  const q = qs[i];
  $('h-question').textContent = t('vote.question.progress', { i: i + 1, n: qs.length });
  $('question-legend').textContent = pick(q.title);
  $('question-limit').textContent = limitText(q);
  $('question-choices').replaceChildren(...answerInputs(q, i, booth.selections[i]));
  showAnswerState(q, i, booth.selections[i] || []);
  say($('question-error'), '');
  $('question-back').textContent = t('common.back');
}

/** The answer on screen now. */
function currentAnswer() {
  return readAnswer(booth.election.questions[booth.question], $('question-choices'));
}

function readQuestion() {
  const i = booth.question;
  const answer = currentAnswer();
  booth.selections[i] = answer;
  const wrong = answerError(booth.election.questions[i], answer);
  if (wrong) {
    say($('question-error'), wrong);
    return false;
  }
  return true;
}

function renderReview(target, selections) {
  target.replaceChildren();
  booth.election.questions.forEach((q, i) => {
    const list = answerList(q, selections[i] || []);
    const edit = el('button', {
      type: 'button',
      class: 'secondary',
      onclick: () => { booth.question = i; renderQuestion(); show('question'); },
    }, t('vote.review.edit-one'));
    edit.setAttribute('aria-label', `${t('vote.review.edit-one')}: ${pick(q.title)}`);
    target.append(el('div', { class: 'panel' }, el('h3', {}, pick(q.title)), list, target === $('review-list') ? edit : null));
  });
}

async function makeBallot(audit) {
  const w = await crypto();
  return JSON.parse(w.makeBallot(JSON.stringify({
    manifest_entry: booth.election.manifest_entry,
    joint_key: booth.election.joint_key,
    credential: booth.credential,
    selections: booth.selections,
    audit,
  })));
}

function hexToBytes(hex) {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
  return out;
}

// A ballot goes with the voter's session; an audit goes to its own route with no session at all
// (and carries no credential), so the server cannot tell whose audit it is.
async function submit(entryHex, audit) {
  const route = audit ? 'audits' : 'ballots';
  return api(`/api/v1/elections/${encodeURIComponent(booth.election.election_id)}/${route}`, {
    method: 'POST',
    body: hexToBytes(entryHex),
    token: audit ? undefined : booth.session,
  });
}

function busy(button, on) {
  for (const b of document.querySelectorAll('#step-review button')) b.disabled = on;
  if (button) button.setAttribute('aria-busy', on ? 'true' : 'false');
}

/**
 * Encrypts the selections (an audited ballot if `audit`), sends the entry and checks the receipt;
 * then `recorded(ballot, answer, receiptCheck)` shows the outcome. Errors go to the error line.
 */
async function sendBallot(button, audit, recorded) {
  busy(button, true);
  status(t('vote.status.encrypting'));
  try {
    const ballot = await makeBallot(audit);
    status(t('vote.status.sending'));
    const out = await submit(ballot.entry, audit);
    const check = await checkReceipt(out, ballot);
    await recorded(ballot, out, check);
    status('');
  } catch (e) {
    status('');
    handleApiError(e);
  } finally {
    busy(button, false);
  }
}

function cast() {
  return sendBallot($('cast'), false, async (ballot, out, check) => {
    booth.receipt = {
      ...out, // out.replaces: the server names the earlier ballot a revote replaces, from any device
      witnesses: check.witnesses_required,
      cast_at: Math.floor(Date.now() / 1000),
    };
    sessionStorage.setItem(RECEIPT_KEY, JSON.stringify(booth.receipt));
    booth.selections = booth.election.questions.map(() => []);
    await renderReceipt();
    show('receipt');
  });
}

function storedReceipt() {
  try {
    const r = JSON.parse(sessionStorage.getItem(RECEIPT_KEY) || 'null');
    return r && typeof r.tracking_code === 'string' && typeof r.tracking_code_short === 'string' ? r : null;
  } catch (_) {
    return null;
  }
}

/** Ends the visit on this device: the login, the credential and the receipt screen are forgotten. */
function finish() {
  // The server forgets the session too (best effort: the page forgets it whatever the answer).
  if (booth.session) api('/api/v1/logout', { method: 'POST', body: '', token: booth.session }).catch(() => {});
  sessionStorage.removeItem(RECEIPT_KEY);
  sessionStorage.removeItem('hanpyo-session');
  Object.assign(booth, { session: null, credential: null, receipt: null, audit: null, login: null, demoVoter: null });
  booth.selections = booth.election.questions.map(() => []);
  for (const id of ['resident-id', 'resident-id-back', 'birth-date', 'otp', 'credential']) $(id).value = '';
  $('demo-code').hidden = true;
  show('login');
  status(t('vote.finish.done'));
}

/** When voting opens and closes, in Korean time. */
function windowText(e) {
  return t('vote.window', { opens: when(e.opens_at), closes: when(e.closes_at) });
}

/** Why the booth is closed: not open yet (and when it opens), or over (and when it closed). */
function closedText(e) {
  return ['ceremony', 'credentials'].includes(e.phase)
    ? t('vote.closed.not-yet', { opens: when(e.opens_at) })
    : t('vote.closed.over', { closes: when(e.closes_at), phase: phaseText(e.phase) });
}

/**
 * The receipt is checked here before anything is shown: it is for *this* ballot (its leaf hash is
 * the ballot's tracking code), signed by the log, cosigned by the manifest's witness quorum, and
 * its inclusion proof leads to the signed root.
 */
async function checkReceipt(out, ballot) {
  if (out.tracking_code !== ballot.tracking_code || out.receipt?.leaf_hash !== ballot.tracking_code) {
    throw new ReceiptError();
  }
  const w = await crypto();
  try {
    return JSON.parse(w.verifyReceipt(JSON.stringify(out.receipt), booth.election.manifest_entry));
  } catch (_) {
    throw new ReceiptError();
  }
}

class ReceiptError extends Error {
  constructor() { super('receipt'); this.code = 'bad-receipt'; }
}

function handleApiError(e) {
  if (e instanceof ReceiptError) {
    showError(t('vote.receipt.bad'));
    return;
  }
  if (e && (e.code === 'no-session' || e.code === 'unauthorized')) {
    sessionStorage.removeItem('hanpyo-session');
    booth.session = null;
    show('login');
  }
  fail(e);
}

function audit() {
  return sendBallot($('audit'), true, (ballot, out) => {
    const same = booth.election.questions.every((q, i) => sameAnswer(q, ballot.audited_choices[i], booth.selections[i]));
    booth.audit = { ballot, out, same };
    renderAuditVerdict();
    renderReview($('audit-list'), ballot.audited_choices);
    $('audit-code').textContent = out.tracking_code_short;
    show('audit');
  });
}

function renderAuditVerdict() {
  const a = booth.audit;
  if (!a) return;
  $('audit-verdict').replaceChildren(el('p', { class: a.same ? 'success' : 'alert' },
    a.same ? t('vote.audit.match') : t('vote.audit.mismatch')));
}

async function renderReceipt() {
  const r = booth.receipt;
  if (!r) return;
  $('receipt-intro').textContent = r.witnesses > 0
    ? t('vote.receipt.intro', { n: r.witnesses }) : t('vote.receipt.intro-no-witnesses');
  // Groups of five never break inside: a line may end only after a hyphen.
  $('receipt-code').replaceChildren(...r.tracking_code_short.split('-').flatMap((g, i, all) => [
    el('span', { class: 'group' }, i < all.length - 1 ? `${g}-` : g), i < all.length - 1 ? el('wbr') : null,
  ]).filter(Boolean));
  $('receipt-facts').replaceChildren(...facts([
    ['vote.receipt.election', pick(booth.election.title)],
    ['vote.receipt.time', r.cast_at ? when(r.cast_at) : '–'],
  ]));
  say($('receipt-revoted'), r.replaces ? t('vote.receipt.replaces', { code: r.replaces }) : '');
  $('receipt-next').textContent = t('vote.receipt.next', { closes: when(booth.election.closes_at) });
  const checkUrl = `${location.origin}${electionBase}/check.html#${r.tracking_code}`;
  $('receipt-check').href = `${electionBase}/check.html#${r.tracking_code}`;
  const w = await crypto();
  const qr = $('receipt-qr');
  qr.innerHTML = w.qrSvg(checkUrl);
  qr.setAttribute('aria-label', t('vote.receipt.qr', { code: r.tracking_code_short }));
  for (const svg of qr.querySelectorAll('svg')) svg.setAttribute('aria-hidden', 'true');
}

function normaliseCredential(s) {
  const raw = s.toUpperCase().replace(/[^0-9A-Z]/g, '');
  return raw.match(/.{1,5}/g)?.join('-') ?? '';
}

async function setupDemo() {
  try {
    booth.demo = await api('/api/v1/demo');
  } catch (_) {
    return; // not a demo server
  }
  if (!booth.demo.voters?.length) return;
  const list = $('demo-voters');
  list.replaceChildren();
  booth.demo.voters.forEach((v, i) => {
    list.append(el('li', {}, el('button', {
      type: 'button',
      class: 'secondary',
      onclick: () => {
        booth.demoVoter = v;
        [$('resident-id').value, $('resident-id-back').value] = v.resident_id.split('-');
        $('birth-date').value = v.birth_date;
        $('credential').value = v.credential;
        $('resident-id').focus();
      },
    }, t('demo.use', { n: i + 1, id: v.resident_id }))));
  });
  $('demo-panel').hidden = !(booth.step === 'login' || booth.step === 'credential');
  $('demo-mailbox').hidden = false;
}

async function demoMailbox() {
  const v = booth.demoVoter || booth.demo?.voters?.find((x) => x.resident_id === residentId());
  if (!v) { say($('error'), t('demo.no-voter')); return; }
  try {
    const m = await api(`/api/v1/demo/mailbox?to=${encodeURIComponent(v.contact)}`);
    $('otp').value = m.code;
    const p = $('demo-code');
    booth.demoMessage = { to: m.to, code: m.code };
    p.textContent = t('demo.message', booth.demoMessage);
    p.hidden = false;
  } catch (e) {
    fail(e);
  }
}

/** The resident registration number from its two fields (front 6 digits, back 7 masked). */
function residentId() {
  return canonicalResidentId(`${$('resident-id').value}${$('resident-id-back').value}`);
}

/** Puts a whole number (typed or pasted into the first field, with or without the hyphen) into
 * the two fields, and moves on to the masked back once the front's 6 digits are in. */
function splitResidentId() {
  const front = $('resident-id');
  const digits = front.value.replace(/\D/g, '');
  if (digits.length > 6) {
    front.value = digits.slice(0, 6);
    $('resident-id-back').value = digits.slice(6, 13);
    $('birth-date').focus();
  } else if (digits.length === 6 && !$('resident-id-back').value && front.value.length === 6) {
    $('resident-id-back').focus();
  }
}

function renderCodeSent() {
  const a = booth.codeAnswer;
  if (!a) return;
  const minutes = Math.round(a.expires_in / 60);
  $('code-sent').textContent = a.sent_to
    ? t('vote.code.sent-to', { to: a.sent_to, minutes })
    : t('vote.code.sent-if-on-roll', { minutes });
}

/** The code step: where the code went, the time it stays valid and when another may be asked for. */
function startCodeTimers(answer) {
  clearInterval(booth.codeTimer);
  booth.codeAnswer = answer;
  renderCodeSent();
  const started = Date.now();
  const resend = $('code-resend');
  resend.disabled = true;
  const tick = () => {
    const elapsed = Math.floor((Date.now() - started) / 1000);
    const left = Math.max(0, answer.expires_in - elapsed);
    if (elapsed >= answer.resend_after) resend.disabled = false;
    $('otp-timer').textContent = left > 0
      ? t('vote.code.time-left', { time: `${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}` })
      : t('vote.code.expired');
    if (left === 0) clearInterval(booth.codeTimer);
  };
  tick();
  booth.codeTimer = setInterval(tick, 1000);
}

/** As people type it (13 digits, with or without the hyphen, spaces): `YYMMDD-NNNNNNN`. */
function canonicalResidentId(typed) {
  const digits = typed.replace(/[\s-]/g, '');
  return /^\d{13}$/.test(digits) ? `${digits.slice(0, 6)}-${digits.slice(6)}` : typed.trim();
}

/** As people type it (19900131, 1990-01-31, 1990.1.31, 1990/01/31): `YYYY-MM-DD`. */
function canonicalBirthDate(typed) {
  const parts = typed.split(/\D+/).filter(Boolean);
  if (parts.length === 3 && parts[0].length === 4 && parts[1].length <= 2 && parts[2].length <= 2) {
    return `${parts[0]}-${parts[1].padStart(2, '0')}-${parts[2].padStart(2, '0')}`;
  }
  if (parts.length === 1 && /^\d{8}$/.test(parts[0])) {
    return `${parts[0].slice(0, 4)}-${parts[0].slice(4, 6)}-${parts[0].slice(6)}`;
  }
  return typed.trim();
}

function wire() {
  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const resident_id = residentId();
    const birth_date = canonicalBirthDate($('birth-date').value);
    if (!/^\d{6}-\d{7}$/.test(resident_id)) { say($('error'), t('vote.login.bad-resident-id')); $('resident-id').focus(); return; }
    if (!/^\d{4}-\d{2}-\d{2}$/.test(birth_date)) { say($('error'), t('vote.login.bad-birth-date')); $('birth-date').focus(); return; }
    try {
      const answer = await api('/api/v1/login/start', { method: 'POST', body: { resident_id, birth_date } });
      booth.login = { resident_id, birth_date };
      $('otp').value = '';
      show('code');
      startCodeTimers(answer);
    } catch (e) { fail(e); }
  });
  $('resident-id').addEventListener('input', splitResidentId);
  $('code-resend').addEventListener('click', async () => {
    try {
      const answer = await api('/api/v1/login/start', { method: 'POST', body: booth.login });
      $('otp').value = '';
      startCodeTimers(answer);
      status(t('vote.code.resent'));
      $('otp').focus();
    } catch (e) { fail(e); }
  });
  // A new attempt starts clean: the last error goes as soon as the voter types again.
  $('otp').addEventListener('input', () => say($('error'), ''));
  $('code-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('/api/v1/login/verify', {
        method: 'POST',
        body: { ...booth.login, code: $('otp').value.trim() },
      });
      booth.session = r.session;
      sessionStorage.setItem('hanpyo-session', r.session);
      clearInterval(booth.codeTimer);
      status('');
      show('credential');
    } catch (e) {
      // The wrong code is cleared, so the next one is typed into an empty field.
      $('otp').value = '';
      fail(e);
      if (e?.code === 'bad-code') $('otp').focus();
    }
  });
  $('code-back').addEventListener('click', () => show('login'));
  $('demo-mailbox').addEventListener('click', demoMailbox);
  $('credential').addEventListener('blur', () => {
    $('credential').value = normaliseCredential($('credential').value);
  });
  $('credential-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const code = normaliseCredential($('credential').value);
    $('credential').value = code;
    let w;
    try { w = await crypto(); } catch (e) { fail(e); return; }
    if (!w.checkCredentialCode(code)) {
      say($('error'), t('vote.credential.invalid'));
      $('credential').setAttribute('aria-invalid', 'true');
      $('credential').focus();
      return;
    }
    $('credential').removeAttribute('aria-invalid');
    booth.credential = code;
    booth.question = 0;
    renderQuestion();
    show('question');
  });
  $('question-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!readQuestion()) return;
    if (booth.question + 1 < booth.election.questions.length) {
      booth.question += 1;
      renderQuestion();
      show('question');
    } else {
      renderReview($('review-list'), booth.selections);
      show('review');
    }
  });
  $('question-choices').addEventListener('change', (ev) => {
    const q = booth.election.questions[booth.question];
    // A score with a budget: the running total, and a message while it is over. A ranking: the
    // choice ranked twice, named as soon as it happens rather than at "next".
    if (isScore(q) || isRanked(q)) {
      const answer = currentAnswer();
      showAnswerState(q, booth.question, answer);
      say($('question-error'), answerError(q, answer) || '');
      return;
    }
    // Enforce the maximum as the voter clicks: one more than allowed is refused with a message.
    const checked = document.querySelectorAll('#question-choices input[type=checkbox]:checked');
    if (checked.length > q.max && ev.target.checked) {
      ev.target.checked = false;
      say($('question-error'), t('vote.question.too-many', { n: q.max }));
    } else {
      say($('question-error'), '');
    }
  });
  $('question-back').addEventListener('click', () => {
    readQuestion();
    if (booth.question > 0) {
      booth.question -= 1;
      renderQuestion();
      show('question');
    } else {
      show('credential');
    }
  });
  $('edit').addEventListener('click', () => { booth.question = 0; renderQuestion(); show('question'); });
  $('cast').addEventListener('click', cast);
  $('audit').addEventListener('click', audit);
  $('audit-back').addEventListener('click', () => { renderReview($('review-list'), booth.selections); show('review'); });
  $('audit-download').addEventListener('click', () => {
    const a = booth.audit;
    if (!a) return;
    download(`hanpyo-audit-${a.out.tracking_code_short}.json`, JSON.stringify({
      election_id: booth.election.election_id,
      kind: 'audited-ballot',
      entry: a.ballot.entry,
      tracking_code: a.out.tracking_code,
      decoded_choices: a.ballot.audited_choices,
      receipt: a.out.receipt,
    }, null, 2));
  });
  $('receipt-download').addEventListener('click', () => {
    const r = booth.receipt;
    if (!r) return;
    download(`hanpyo-receipt-${r.tracking_code_short}.json`, JSON.stringify(r.receipt, null, 2));
  });
  // Voting again needs the credential again: on a shared device the next person cannot.
  $('revote').addEventListener('click', () => {
    booth.credential = null;
    $('credential').value = '';
    booth.question = 0;
    show('credential');
  });
  $('finish').addEventListener('click', finish);
  // A page people can keep: the tracking code, QR code, time and what comes next (print.css rules).
  $('receipt-print').addEventListener('click', () => window.print());
  window.addEventListener('beforeunload', (ev) => {
    if (UNSAVED_STEPS.includes(booth.step)) {
      ev.preventDefault();
      ev.returnValue = '';
    }
  });
  document.addEventListener('languagechange', () => {
    if (!booth.election) return;
    $('election-name').textContent = pick(booth.election.title);
    status('');
    say($('error'), '');
    if (booth.demoMessage) $('demo-code').textContent = t('demo.message', booth.demoMessage);
    if (booth.step === 'question') {
      // Keep what is ticked but not yet confirmed.
      booth.selections[booth.question] = currentAnswer();
      renderQuestion();
    }
    if (booth.step === 'audit') renderAuditVerdict();
    if (booth.step === 'review') renderReview($('review-list'), booth.selections);
    if (booth.step === 'audit' && booth.audit) renderReview($('audit-list'), booth.audit.ballot.audited_choices);
    if (booth.step === 'receipt') renderReceipt();
    if (booth.step === 'closed') $('closed-text').textContent = closedText(booth.election);
    if (booth.step === 'code') renderCodeSent();
    $('election-window').textContent = windowText(booth.election);
    setupDemoLabels();
  });
}

function setupDemoLabels() {
  const buttons = document.querySelectorAll('#demo-voters button');
  buttons.forEach((b, i) => { b.textContent = t('demo.use', { n: i + 1, id: booth.demo.voters[i].resident_id }); });
}

await setupPage();
wire();
try {
  booth.election = await currentElection();
  $('election-name').textContent = pick(booth.election.title);
  $('election-window').textContent = windowText(booth.election);
  booth.selections = booth.election.questions.map(() => []);
  booth.receipt = storedReceipt();
  if (booth.receipt) {
    // A reload right after casting: the receipt again, until the voter finishes.
    $('revote').hidden = booth.election.phase !== 'open';
    if (booth.election.phase === 'open') await setupDemo();
    await renderReceipt();
    show('receipt', false);
  } else if (booth.election.phase !== 'open') {
    $('closed-text').textContent = closedText(booth.election);
    show('closed', false);
  } else {
    await setupDemo();
    show(booth.session ? 'credential' : 'login', false);
    crypto().catch(() => {}); // start loading the WebAssembly while the voter logs in (errors show on use)
  }
} catch (e) {
  fail(e);
}
