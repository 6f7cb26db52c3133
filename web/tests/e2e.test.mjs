// Browser end-to-end tests: a voter logs in, audits, casts, checks the receipt and revotes; an
// administrator imports a roll (with a bad line), opens, closes and tallies; the board shows and
// verifies the result. axe-core must find no violation on any page; screenshots go to the output
// folder (HANPYO_TEST_OUT, default target/browser-test-output).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  startDemo, startServe, runInBackground, launch, newPage, shot, tabTo, out, bin, noViolations, noProblems,
} from './harness.mjs';

const TRACKING = /^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/;
let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const visible = (page, sel) => page.locator(`${sel}:not([hidden])`).waitFor();

/** Logs in as demo voter `n` (0-based) through the demo inbox, up to the credential step. */
async function login(page, n, { wrongCodeFirst = false, asTyped = false } = {}) {
  await visible(page, '#demo-panel');
  await page.locator('#demo-voters button').nth(n).click();
  if (asTyped) {
    // As Korean residents often type them: all 13 digits at once without the hyphen (split into
    // the front and the masked back), the birth date as 8 digits.
    const id = `${await page.inputValue('#resident-id')}${await page.inputValue('#resident-id-back')}`;
    await page.fill('#resident-id-back', '');
    await page.fill('#resident-id', id);
    assert.equal(await page.inputValue('#resident-id'), id.slice(0, 6));
    assert.equal(await page.inputValue('#resident-id-back'), id.slice(6));
    await page.fill('#birth-date', (await page.inputValue('#birth-date')).replaceAll('-', ''));
  }
  assert.equal(await page.getAttribute('#resident-id-back', 'type'), 'password', 'the back 7 digits are masked');
  await page.locator('#login-form button[type=submit]').click();
  await visible(page, '#step-code');
  // Where the code went (masked, as government services show it), how long it is valid, and no
  // resend until the wait is over.
  assert.match(await page.textContent('#code-sent'), /^\d{3}-\*\*\*\*-\d{4}(으로|로) 인증번호를 보냈습니다\. 10분 안에/);
  assert.match(await page.textContent('#otp-timer'), /남은 시간 (10:00|9:[0-5]\d)/);
  assert.equal(await page.locator('#code-resend').isDisabled(), true);
  if (wrongCodeFirst) {
    await page.fill('#otp', '000000');
    await page.locator('#code-form button[type=submit]').click();
    await visible(page, '#error');
    assert.match(await page.textContent('#error'), /인증번호가 맞지 않거나/, 'a wrong code gets the translated reason');
    assert.equal(await page.inputValue('#otp'), '', 'the wrong code is cleared');
    await page.fill('#otp', '1');
    assert.equal(await page.locator('#error').isHidden(), true, 'the error goes when the voter types again');
  }
  await page.locator('#demo-mailbox').click();
  await page.waitForFunction(() => document.querySelector('#otp').value.length > 0);
  await page.locator('#code-form button[type=submit]').click();
  await visible(page, '#step-credential');
}

/** Answers every question with the keyboard only: Tab to each choice, Space, Tab to Next, Enter. */
async function answerWithKeyboard(page, picks) {
  for (let q = 0; q < picks.length; q++) {
    await visible(page, '#step-question');
    await page.waitForFunction((q) => document.querySelector(`#q${q}-c0`) !== null, q);
    await page.locator('#h-question').focus();
    const radio = (await page.getAttribute(`#q${q}-c0`, 'type')) === 'radio';
    if (radio) {
      // A radio group is one Tab stop; the arrow keys move the choice within it.
      await tabTo(page, `input[name=q${q}]`);
      await page.keyboard.press('Space');
      for (let i = 0; i < picks[q][0]; i++) await page.keyboard.press('ArrowDown');
    } else {
      for (const c of picks[q]) {
        await tabTo(page, `#q${q}-c${c}`);
        await page.keyboard.press('Space');
      }
    }
    await tabTo(page, '#question-next');
    await page.keyboard.press('Enter');
  }
  await visible(page, '#step-review');
}

/** Answers by clicking (the pointer path). */
async function answerByClicking(page, picks) {
  for (let q = 0; q < picks.length; q++) {
    await visible(page, '#step-question');
    await page.waitForFunction((q) => document.querySelector(`#q${q}-c0`) !== null, q);
    for (const c of picks[q]) await page.locator(`label[for=q${q}-c${c}]`).click();
    await page.locator('#question-next').click();
  }
  await visible(page, '#step-review');
}

/** POSTs JSON (or nothing) to the server, as an administrator when `session` is given. */
async function postJson(base, path, body, session) {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(session ? { authorization: `Bearer ${session}` } : {}) },
    body: body ? JSON.stringify(body) : '',
  });
  assert.ok(r.ok, `${path}: ${r.status}`);
  return r.json();
}

async function cast(page) {
  await page.locator('#cast').click();
  await visible(page, '#step-receipt');
  await page.waitForFunction(() => document.querySelector('#receipt-qr svg') !== null);
  const code = (await page.textContent('#receipt-code')).trim();
  assert.match(code, TRACKING);
  return code;
}

test('a voter logs in, audits, casts, checks the receipt, revotes; the board verifies it all', async () => {
  const server = await startDemo();
  try {
    const page = await newPage(browser);
    await page.goto(`${server.url}/`);
    await page.waitForFunction(() => document.querySelector('#election-phase').textContent !== '…');
    assert.equal(await page.getAttribute('html', 'lang'), 'ko');
    await shot(page, '01-home');
    await noViolations(page, 'home');

    await page.goto(`${server.url}/vote.html`);
    await visible(page, '#demo-panel');
    await noViolations(page, 'vote: login');
    await shot(page, '02-vote-login');
    await login(page, 0, { wrongCodeFirst: true });

    // A mistyped credential is caught on the device (its check symbol), with a translated message.
    const good = await page.inputValue('#credential');
    const typo = good.slice(0, -1) + (good.endsWith('0') ? '1' : '0');
    await page.fill('#credential', typo);
    await page.locator('#credential-form button[type=submit]').click();
    await visible(page, '#error');
    assert.match(await page.textContent('#error'), /코드가 맞지 않습니다/);
    await page.fill('#credential', good);
    await page.locator('#credential-form button[type=submit]').click();

    await visible(page, '#step-question');
    assert.match(await page.textContent('#question-limit'), /1개를 고르세요/);
    await noViolations(page, 'vote: question');
    await shot(page, '03-vote-question');
    // On a phone: one question per screen, large targets.
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, '03-vote-question-phone');
    await noViolations(page, 'vote: question (phone)');
    await page.setViewportSize({ width: 1280, height: 720 });
    await answerWithKeyboard(page, [[0], [1], [0, 2]]);
    const review = await page.textContent('#review-list');
    assert.ok(review.length > 0);
    await noViolations(page, 'vote: review');
    await shot(page, '04-vote-review');

    // Benaloh audit: the test ballot is opened, shown, recorded as audited, never counted.
    await page.locator('#audit').click();
    await visible(page, '#step-audit');
    assert.equal(await page.locator('#audit-verdict .success').count(), 1, 'the audit matches the choices');
    assert.match((await page.textContent('#audit-code')).trim(), TRACKING);
    const [auditFile] = await Promise.all([page.waitForEvent('download'), page.locator('#audit-download').click()]);
    const auditPath = join(out, 'audit.json');
    await auditFile.saveAs(auditPath);
    const audit = JSON.parse(readFileSync(auditPath, 'utf8'));
    assert.deepEqual(audit.decoded_choices, [[0], [1], [0, 2]]);
    await noViolations(page, 'vote: audit');
    await shot(page, '05-vote-audit');
    await page.locator('#audit-back').click();
    await visible(page, '#step-review');

    // Cast (a fresh encryption), receipt with QR code and file.
    const first = await cast(page);
    assert.notEqual(first, audit.tracking_code, 'the cast ballot is not the audited one');
    await noViolations(page, 'vote: receipt');
    await shot(page, '06-vote-receipt');
    // Printed (or saved as PDF), the receipt keeps the code, QR code and time, without navigation or buttons.
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('header.site').isVisible(), false);
    assert.equal(await page.locator('#receipt-print').isVisible(), false);
    assert.equal(await page.locator('#receipt-code').isVisible(), true);
    assert.equal(await page.locator('#receipt-qr svg').isVisible(), true);
    await page.emulateMedia({ media: 'screen' });
    const [receiptFile] = await Promise.all([page.waitForEvent('download'), page.locator('#receipt-download').click()]);
    const receiptPath = join(out, 'receipt.json');
    await receiptFile.saveAs(receiptPath);

    // The same receipt file verifies offline with the CLI against a downloaded record.
    const record = join(out, 'record');
    rmSync(record, { recursive: true, force: true });
    execFileSync(bin, ['download', '--url', server.url, '--out', record]);
    const cli = execFileSync(bin, ['receipt', 'verify', receiptPath, '--record', record]).toString();
    assert.match(cli, /^VALID/m);

    // "Check my ballot" from the receipt: verified in the browser.
    await page.locator('#receipt-check').click();
    await page.waitForURL(/check\.html#/);
    await page.locator('#verdict .pill').waitFor();
    assert.equal(await page.locator('#verdict .pill.ok').count(), 1, await page.textContent('#result'));
    await noViolations(page, 'check');
    await shot(page, '07-check');

    // The downloaded file checks too; a tampered one does not.
    await page.goto(`${server.url}/check.html`);
    await page.setInputFiles('#receipt-file', receiptPath);
    await page.locator('#check-form button[type=submit]').click();
    await page.locator('#verdict .pill').waitFor();
    assert.equal(await page.locator('#verdict .pill.ok').count(), 1);
    const tampered = JSON.parse(readFileSync(receiptPath, 'utf8'));
    tampered.inclusion_proof[0] = tampered.inclusion_proof[0].replace(/^./, (c) => (c === '0' ? '1' : '0'));
    const tamperedPath = join(out, 'receipt-tampered.json');
    writeFileSync(tamperedPath, JSON.stringify(tampered));
    await page.evaluate(() => { document.querySelector('#verdict').textContent = ''; });
    await page.setInputFiles('#receipt-file', tamperedPath);
    await page.locator('#check-form button[type=submit]').click();
    await page.locator('#verdict .pill').waitFor();
    assert.equal(await page.locator('#verdict .pill.bad').count(), 1, 'a tampered receipt fails');

    // With the trust policy the commission publishes (the demo writes it): keys from the file.
    const policyPath = join(server.data, 'elections', server.election, 'trust-policy.toml');
    await page.goto(`${server.url}/check.html`);
    await page.setInputFiles('#receipt-file', receiptPath);
    await page.setInputFiles('#policy-file', policyPath);
    await page.locator('#check-form button[type=submit]').click();
    await page.locator('#verdict .pill').waitFor();
    assert.equal(await page.locator('#verdict .pill.ok').count(), 1, await page.textContent('#result'));
    assert.match(await page.textContent('#checks'), /신뢰 정책 파일에서 가져왔습니다/);
    // A policy naming another witness: the server's election is not the one trusted.
    const policy = readFileSync(policyPath, 'utf8');
    const otherPath = join(out, 'trust-policy-other.toml');
    writeFileSync(otherPath, policy.replace('name = "witness-1.', 'name = "witness-9.'));
    assert.notEqual(readFileSync(otherPath, 'utf8'), policy);
    await page.goto(`${server.url}/check.html`);
    await page.setInputFiles('#receipt-file', receiptPath);
    await page.setInputFiles('#policy-file', otherPath);
    await page.locator('#check-form button[type=submit]').click();
    await page.locator('#verdict .pill').waitFor();
    assert.equal(await page.locator('#verdict .pill.bad').count(), 1, 'another witness set fails');
    assert.match(await page.textContent('#checks'), /other witnesses than the trust policy/);

    // The audit file, checked "on another device": decoded here from the revealed randomness.
    await page.goto(`${server.url}/check.html`);
    await page.setInputFiles('#receipt-file', auditPath);
    await page.locator('#check-form button[type=submit]').click();
    await page.locator('#verdict .pill').waitFor();
    assert.equal(await page.locator('#verdict .pill.ok').count(), 1, await page.textContent('#result'));
    assert.match(await page.textContent('#checks'), /검사 파일: 이 브라우저가/);
    assert.equal(await page.locator('#audit-choices .panel').count(), 3);
    await noViolations(page, 'check: audit file');
    await shot(page, '07b-check-audit');

    // Back in the booth, the last receipt is still there (kept in this tab until "finish").
    await page.goto(`${server.url}/vote.html`);
    await visible(page, '#step-receipt');
    assert.equal((await page.textContent('#receipt-code')).trim(), first);
    assert.match(await page.textContent('#receipt-facts'), /투표한 시각/);
    assert.match(await page.textContent('#receipt-next'), /마감/);
    // Revote: still logged in, but the credential is asked for again (it is never stored), so
    // the next person at a shared device cannot vote in this voter's name.
    await page.locator('#revote').click();
    await visible(page, '#step-credential');
    assert.equal(await page.inputValue('#credential'), '');
    await page.locator('#demo-voters button').nth(0).click();
    await page.locator('#credential-form button[type=submit]').click();
    await visible(page, '#step-question');
    await page.locator('label[for=q0-c1]').click();
    await page.locator('#question-next').click();
    await page.locator('label[for=q1-c0]').click();
    await page.locator('#question-next').click();
    for (const c of [0, 1]) await page.locator(`label[for=q2-c${c}]`).click();
    // Switching language keeps what is ticked but not yet confirmed.
    await page.locator('#lang-switch').click();
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.match(await page.textContent('#question-limit'), /Choose up to 2/);
    assert.equal(await page.locator('#question-choices input:checked').count(), 2);
    await page.locator('#lang-switch').click();
    await page.waitForFunction(() => document.documentElement.lang === 'ko');
    await page.locator('label[for=q2-c2]').click();
    await visible(page, '#question-error');
    assert.equal(await page.locator('#question-choices input:checked').count(), 2, 'a third choice is refused');
    await page.locator('#question-next').click();
    await visible(page, '#step-review');
    const second = await cast(page);
    assert.notEqual(second, first);
    // The new receipt says it replaces the earlier vote; a reload shows it again.
    assert.match(await page.textContent('#receipt-revoted'), new RegExp(first.replaceAll('-', '.')));
    await page.reload();
    await visible(page, '#step-receipt');
    assert.equal((await page.textContent('#receipt-code')).trim(), second);

    // English throughout.
    await page.locator('#lang-switch').click();
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal((await page.textContent('#h-receipt')).trim(), 'Your vote is recorded');
    assert.match(await page.textContent('#step-receipt'), /only your last vote counts/);
    await noViolations(page, 'vote: receipt (English)');
    await shot(page, '08-vote-receipt-en');
    // "Finish" ends the visit on this device: login and receipt screen are gone, also on reload,
    // and the server no longer accepts the session.
    const ended = await page.evaluate(() => sessionStorage.getItem('hanpyo-session'));
    await page.locator('#finish').click();
    await visible(page, '#step-login');
    const election = (await (await fetch(`${server.url}/api/v1/elections`)).json())[0].election_id;
    await page.waitForFunction(async ([url, token]) => (await fetch(url, {
      method: 'POST', headers: { authorization: `Bearer ${token}` }, body: new Uint8Array([2, 9]), // a ballot entry's header: the session is checked first
    })).status === 401, [`${server.url}/api/v1/elections/${election}/ballots`, ended]);
    assert.match(await page.textContent('#status'), /You are done/);
    await page.reload();
    await visible(page, '#step-login');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);

    // The first receipt now stands superseded, proven from the log: the check page names the
    // ballot that replaced it (a voter who never voted again knows to complain), and so does the CLI.
    await page.goto(`${server.url}/check.html`);
    await page.setInputFiles('#receipt-file', receiptPath);
    await page.locator('#check-form button[type=submit]').click();
    await page.locator('#verdict .pill').waitFor();
    assert.equal(await page.locator('#verdict .pill.warn').count(), 1, await page.textContent('#result'));
    const standing = await page.textContent('#standing');
    assert.match(standing, /^Replaced: /);
    assert.ok(standing.includes(second), `names the later ballot ${second}: ${standing}`);
    await noViolations(page, 'check: superseded');
    await shot(page, '08b-check-superseded-en');
    const cliStanding = execFileSync(bin, ['receipt', 'verify', receiptPath, '--url', server.url]).toString();
    assert.match(cliStanding, /STANDING: superseded/);

    // The board (still English): checkpoint, search, in-browser verification.
    await page.goto(`${server.url}/board.html`);
    await page.locator('#checkpoint .pill.ok').waitFor();
    await page.fill('#search', second.toLowerCase());
    await page.locator('#search-form button[type=submit]').click();
    await page.locator('#search-result li').waitFor();
    assert.match(await page.textContent('#search-result'), /Ballot/);
    await page.locator('#verify-run').click();
    await page.locator('#verify-report .pill').waitFor({ timeout: 120_000 });
    assert.equal(await page.locator('#verify-report .pill.ok').count(), 1, await page.textContent('#verify-report'));
    const report = await page.textContent('#verify-report');
    assert.match(report, /Valid so far/, 'voting is still open: valid so far, not finished');
    assert.match(report, /Ballots cast\s*2/);
    assert.match(report, /counted by the tally after closing/, 'no "0 counted" while voting is open');
    assert.match(report, /Completeness: /, 'what is missing is named in the page\'s language');
    assert.match(report, /Audited ballots\s*1/);
    assert.equal(await page.evaluate(() => document.querySelector('#verify-progress').value > 0), true);
    await noViolations(page, 'board (English)');
    await shot(page, '09-board-en');
    noProblems(page);
  } finally {
    server.stop();
  }
});

test('on a phone, a failed cast is shown where the voter is looking and focused', async () => {
  const server = await startDemo();
  try {
    const page = await newPage(browser);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${server.url}/vote.html`);
    await login(page, 2);
    await page.locator('#credential-form button[type=submit]').click();
    await answerByClicking(page, [[0], [1], [0]]);
    // Voting closes while the voter reads the review screen.
    const api = (path, body, session) => postJson(server.url, path, body, session);
    const { session } = await api('/api/v1/admin/login', { name: server.admin.name, password: server.admin.password });
    await api('/api/v1/admin/close', null, session);
    await page.locator('#cast').scrollIntoViewIfNeeded();
    await page.locator('#cast').click();
    await visible(page, '#error');
    assert.match(await page.textContent('#error'), /\S/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'error', 'the error has the focus');
    const box = await page.locator('#error').boundingBox();
    assert.ok(box && box.y >= 0 && box.y + box.height <= 844, `the error is inside the viewport: ${JSON.stringify(box)}`);
    await noViolations(page, 'vote: cast refused on a phone');
    await shot(page, '05b-phone-cast-error');
    // Leaving with answers only in memory asks first.
    const dialogs = [];
    page.on('dialog', (d) => dialogs.push(d.type()));
    await page.reload();
    assert.deepEqual(dialogs, ['beforeunload']);
    await visible(page, '#step-closed');
    assert.match(await page.textContent('#closed-text'), /투표가 끝났습니다/);
    // The board on a phone: finding one's ballot is near the top, not below every chart and entry.
    await page.goto(`${server.url}/board.html`);
    await page.locator('#summary dd').first().waitFor();
    const search = await page.locator('#search').boundingBox();
    assert.ok(search && search.y < 2 * 844, `the tracking-code search is within two screens: ${JSON.stringify(search)}`);
    assert.equal(await page.getAttribute('#download-entries', 'download'), 'demo-2026-entries');
    assert.equal((await fetch(`${server.url}/favicon.ico`)).status, 200);
    await noViolations(page, 'board on a phone');
    await shot(page, '15-board-phone');
    noProblems(page);
  } finally {
    server.stop();
  }
});

test('an administrator imports a roll with an error line, opens, closes, tallies; the result shows', async () => {
  const server = await startDemo(['--wait-to-open']);
  try {
    const voter = await newPage(browser);
    await voter.goto(`${server.url}/vote.html`);
    await visible(voter, '#step-closed');
    await noViolations(voter, 'vote: not open');

    const page = await newPage(browser);
    await page.goto(`${server.url}/admin.html`);
    await visible(page, '#login');
    await noViolations(page, 'admin: login');
    await shot(page, '10-admin-login');
    await page.fill('#admin-name', server.admin.name);
    await page.fill('#admin-password', 'not the password');
    await page.locator('#login-form button[type=submit]').click();
    await visible(page, '#error');
    assert.match(await page.textContent('#error'), /계정 또는 비밀번호가 맞지 않습니다/);
    await page.fill('#admin-password', server.admin.password);
    await page.locator('#login-form button[type=submit]').click();
    await visible(page, '#console');
    await page.locator('#action-open').waitFor();

    // A roll with one bad line: nothing imported, the line and reason shown.
    const header = 'name,birth_date,resident_id,contact,district';
    const bad = join(out, 'roll-bad.csv');
    writeFileSync(bad, `${header}\n김민수,1980-02-03,800203-1000001,010-9000-0001,종로구\n이영희,1981-13-40,810101-2000002,010-9000-0002,중구\n`);
    await page.setInputFiles('#roll-file', bad);
    await page.locator('#roll-form button[type=submit]').click();
    await page.locator('#roll-result .alert').waitFor();
    const rollText = await page.textContent('#roll-result');
    assert.match(rollText, /1개 줄에 문제가 있어/);
    assert.match(rollText, /생년월일이 실제 날짜\(YYYY-MM-DD\)가 아닙니다/, 'the reason in Korean, not the parser\'s English');
    assert.match(rollText, /3/);
    await noViolations(page, 'admin: roll errors');
    await shot(page, '11-admin-roll-errors');
    // The fixed roll as Korean Excel saves a CSV: CP949, detected and read exactly.
    const fixed = join(out, 'roll-fixed-cp949.csv');
    const fixedText = `${header}\n김민수,1980-02-03,800203-1000001,010-9000-0001,종로구\n이영희,1981-01-01,810101-2000002,010-9000-0002,중구\n`;
    const CP949 = { 김민수: 'b1e8b9cebcf6', 이영희: 'c0ccbfb5c8f1', 종로구: 'c1beb7ceb1b8', 중구: 'c1dfb1b8' };
    const cp949 = Buffer.concat(fixedText.split(/(김민수|이영희|종로구|중구)/)
      .map((part) => (CP949[part] ? Buffer.from(CP949[part], 'hex') : Buffer.from(part, 'ascii'))));
    assert.equal(new TextDecoder('euc-kr').decode(cp949), fixedText);
    writeFileSync(fixed, cp949);
    await page.setInputFiles('#roll-file', fixed);
    await page.locator('#roll-form button[type=submit]').click();
    await page.locator('#roll-result .success').waitFor();
    assert.match(await page.textContent('#roll-result'), /2명을 명부에 넣었습니다/);
    assert.match(await page.textContent('#roll-result'), /CP949로 읽음/);
    // The same roll again: refused beside the roll form, naming the line, not in a banner far above.
    await page.locator('#roll-form button[type=submit]').click();
    await page.locator('#roll-result .alert td').first().waitFor();
    assert.match(await page.textContent('#roll-result'), /이미 명부에 있는 사람이 있어/);
    assert.equal((await page.locator('#roll-result td').first().textContent()).trim(), '2');
    assert.equal(await page.locator('#error').isHidden(), true);

    // A new election from the form: checked by the server's manifest rules.
    await page.locator('#new-election summary').click();
    await page.fill('#new-id', '2027-jongno-park');
    await page.fill('#new-title-ko', '종로 공원 주민투표');
    await page.fill('#new-title-en', 'Jongno park vote');
    await page.fill('#new-question', '공원 이름을 고르세요 | Choose the park name');
    await page.fill('#new-choices', '은행나무 공원 | Ginkgo Park\n느티나무 공원 | Zelkova Park\n소나무 공원 | Pine Park');
    await page.locator('#new-form button[type=submit]').click();
    await page.locator('#new-result .success').waitFor();
    assert.match(await page.textContent('#new-result'), /2027-jongno-park/);
    await page.fill('#new-trustees', '2/3');
    await page.locator('#new-form button[type=submit]').click();
    await page.locator('#new-result .alert').waitFor();
    await noViolations(page, 'admin: console');
    await shot(page, '12-admin-console');

    // Open; a voter votes; close and tally (the demo's trustees decrypt at once).
    await page.locator('#action-open').click();
    await page.locator('#action-close').waitFor();
    await voter.goto(`${server.url}/vote.html`);
    await login(voter, 1, { asTyped: true });
    await voter.locator('#credential-form button[type=submit]').click();
    await answerByClicking(voter, [[0], [2], [1]]);
    await cast(voter);

    await page.locator('#refresh').click();
    await page.waitForFunction(() => /1 \/|1명이 투표/.test(document.querySelector('#turnout').textContent));
    assert.match(await page.textContent('#turnout'), /종로구|중구|용산구|성동구/);
    assert.doesNotMatch(await page.textContent('#turnout'), /\uFFFD/, 'no garbled district');
    // The three turnout figures say what each counts and when, so they never seem to disagree.
    assert.match(await page.textContent('#turnout'), /그래프와 위 숫자는 모두 투표한 사람 수입니다/);
    assert.match(await page.textContent('#turnout'), /행정구역별 표는 \d+초 전에 센 것입니다/);
    await page.locator('#action-close').click();
    await page.locator('#action-tally').waitFor();
    await page.locator('#action-tally').click();
    await page.locator('#results figure').first().waitFor({ timeout: 60_000 });
    const audit = await page.textContent('#audit-log');
    for (const a of ['import-roll', 'open', 'close', 'tally']) assert.match(audit, new RegExp(a));
    await noViolations(page, 'admin: result');
    await shot(page, '13-admin-result');

    // The console on a phone, in Korean and in English: nothing wider than the screen, and the
    // trustee table's headers wrap between words, not one letter per line.
    await page.setViewportSize({ width: 390, height: 844 });
    for (const lang of ['ko', 'en']) {
      if (lang === 'en') {
        await page.locator('#lang-switch').click();
        await page.waitForFunction(() => document.documentElement.lang === 'en');
      }
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 390, `${lang}: the console is ${width}px wide on a 390px screen`);
      const tallest = await page.locator('#trustees th').evaluateAll((ths) => Math.max(...ths.map((h) => h.getBoundingClientRect().height)));
      assert.ok(tallest < 120, `${lang}: a trustee table header is ${tallest}px tall`);
      await noViolations(page, `admin on a phone (${lang})`);
      await shot(page, `13b-admin-phone-${lang}`);
    }
    await page.locator('#lang-switch').click();
    await page.waitForFunction(() => document.documentElement.lang === 'ko');
    await page.setViewportSize({ width: 1280, height: 800 });

    // The result on the public board.
    await voter.goto(`${server.url}/board.html`);
    await voter.locator('#result figure').first().waitFor();
    const rows = await voter.locator('#result table').first().locator('tbody tr').allTextContents();
    assert.equal(rows.length, 2);
    assert.match(rows[0], /1\s*100\.0%/, 'the one ballot chose the first answer');
    // The turnout the result rests on, and the referendum's decision rule applied to it; each
    // question's title comes before its chart.
    assert.match(await voter.textContent('#result .turnout'), /투표권자 [\d,]+명 중 1명 투표/);
    const referendum = voter.locator('#result figure').first();
    assert.equal(await referendum.locator(':scope > :first-child').evaluate((e) => e.tagName), 'FIGCAPTION');
    assert.match(await referendum.locator('.outcome').textContent(), /^확정(: 찬성|되지 않음: 투표한 사람이 투표권자의 4분의 1에)/);
    assert.equal(await voter.locator('#result figure .outcome').count(), 1, 'only the referendum has a decision rule');
    await voter.locator('#verify-run').click();
    await voter.locator('#verify-report .pill').waitFor({ timeout: 120_000 });
    assert.equal(await voter.locator('#verify-report .pill.ok').count(), 1, await voter.textContent('#verify-report'));
    assert.match(await voter.textContent('#verify-report'), /유효: 기록 전체가 검증되었습니다/);
    assert.doesNotMatch(await voter.textContent('#verify-report'), /null/, 'no literal null under a clean verification');
    await noViolations(voter, 'board: result');
    await shot(voter, '14-board-result');
    noProblems(page);
    noProblems(voter);
  } finally {
    server.stop();
  }
});

test('an administrator creates an election in the console and runs it to the published result', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hanpyo-web-life-'));
  const data = join(dir, 'data');
  const pass = join(dir, 'password');
  writeFileSync(pass, 'a long enough password\n');
  execFileSync(bin, ['admin', 'create-user', '--data', data, '--name', 'chair', '--password-file', pass]);
  const server = await startServe(data);
  const { url } = server;
  try {
    const page = await newPage(browser);
    // No election yet: the booth says so; the console offers to create one.
    await page.goto(`${url}/vote.html`);
    await visible(page, '#error');
    assert.match(await page.textContent('#error'), /아직 선거가 없습니다/);
    await page.goto(`${url}/admin.html`);
    await page.fill('#admin-name', 'chair');
    await page.fill('#admin-password', 'a long enough password');
    await page.locator('#login-form button[type=submit]').click();
    await visible(page, '#no-election');
    assert.equal(await page.locator('#election-sections').isHidden(), true);
    await noViolations(page, 'admin: no election yet');
    await shot(page, '20-admin-create');
    await page.fill('#new-id', 'jongno-park-2027');
    await page.fill('#new-title-ko', '종로 공원 이름 주민투표');
    await page.fill('#new-title-en', 'Jongno park name vote');
    await page.fill('#new-question', '새 공원의 이름을 고르세요 | Choose the new park\'s name');
    await page.fill('#new-choices', '은행나무 공원 | Ginkgo Park\n느티나무 공원 | Zelkova Park\n소나무 공원 | Pine Park');
    await page.fill('#new-trustees', '1/1');
    // A preferential question from the form: its fields show, and the server finds it valid.
    await page.selectOption('#new-kind', 'ranked');
    await visible(page, '#new-kind-ranked');
    assert.equal(await page.locator('#new-decision-box').isHidden(), true);
    await page.fill('#new-ranks', '2');
    await page.selectOption('#new-method', 'schulze');
    await page.locator('#new-form button[type=submit]').click();
    await page.locator('#new-result .success').waitFor();
    assert.match(await page.textContent('#new-result'), /jongno-park-2027/);
    await noViolations(page, 'admin: a ranked question in the form');
    await page.selectOption('#new-kind', 'choose');
    await page.fill('#new-decision', '1/4'); // the Resident Voting Act's rule
    await page.locator('#new-create').click();
    await visible(page, '#election-sections');
    await page.waitForFunction(() => /jongno-park-2027/.test(document.querySelector('#elections').textContent));
    assert.match(await page.textContent('#status-facts'), /관리위원 키 생성 중/);

    // The trustee: a sealed key, an invitation from the console, the ceremony from the CLI.
    await page.locator('#trustees button').first().click();
    await page.locator('#trustee-token .mono').waitFor();
    const token = (await page.textContent('#trustee-token .mono')).trim();
    const key = join(dir, 'trustee.key');
    execFileSync(bin, ['trustee', 'init', '--key', key, '--passphrase-file', pass]);
    const trustee = (step) => runInBackground(['trustee', step, '--key', key, '--passphrase-file', pass,
      '--url', url, '--index', '1', '--token', token, '--wait', '60']);
    const ceremony = trustee('ceremony');
    for (let i = 0; i < 300; i++) {
      const p = await (await fetch(`${url}/api/v1/progress`)).json();
      if (p.trustees[0].confirmed) break; // its key share checked out: the ceremony can finish
      await new Promise((r) => setTimeout(r, 100));
    }
    await page.locator('#refresh').click();
    await page.locator('#action-finish-ceremony').click();
    await page.locator('#action-open').waitFor();
    const c = await ceremony;
    assert.equal(c.code, 0, c.output);

    // Roll (a bad line first), credentials from the credential authority, open.
    const header = 'name,birth_date,resident_id,contact,district';
    const rollPath = join(dir, 'roll.csv');
    writeFileSync(rollPath, `${header}\n김민수,1980-02-03,800203-1000001,010-9000-0001,종로구\n이영희,1981-02-30,810228-2000002,010-9000-0002,종로구\n`);
    await page.setInputFiles('#roll-file', rollPath);
    await page.locator('#roll-form button[type=submit]').click();
    await page.locator('#roll-result .alert td').first().waitFor();
    writeFileSync(rollPath, `${header}\n김민수,1980-02-03,800203-1000001,010-9000-0001,종로구\n이영희,1981-02-28,810228-2000002,010-9000-0002,종로구\n`);
    await page.setInputFiles('#roll-file', rollPath);
    await page.locator('#roll-form button[type=submit]').click();
    await page.locator('#roll-result .success').waitFor();
    const ca = join(dir, 'ca');
    execFileSync(bin, ['ca', 'generate', '--roll', rollPath, '--election-id', 'jongno-park-2027', '--out', ca]);
    await page.setInputFiles('#credentials-file', join(ca, 'public-credentials.txt'));
    await page.locator('#credentials-form button[type=submit]').click();
    await page.locator('#credentials-result .success').waitFor();
    await page.locator('#action-open').click();
    await page.locator('#action-close').waitFor();

    // A voter on the roll: the code arrives at their contact (the outbox file here).
    const voter = await newPage(browser);
    await voter.goto(`${url}/vote.html`);
    await visible(voter, '#step-login');
    assert.equal(await voter.locator('#demo-panel').isHidden(), true, 'no demo helpers on a real election');
    await voter.fill('#resident-id', '800203-1000001');
    await voter.fill('#birth-date', '1980-02-03');
    await voter.locator('#login-form button[type=submit]').click();
    await visible(voter, '#step-code');
    const sent = readFileSync(join(data, 'outbox.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    await voter.fill('#otp', sent.filter((m) => m.to === '010-9000-0001').pop().code);
    await voter.locator('#code-form button[type=submit]').click();
    await visible(voter, '#step-credential');
    const delivery = readFileSync(join(ca, 'credentials-for-delivery.csv'), 'utf8').split('\n');
    const credential = delivery.find((l) => l.startsWith('800203-1000001,')).split(',').pop();
    await voter.fill('#credential', credential);
    await voter.locator('#credential-form button[type=submit]').click();
    await answerByClicking(voter, [[1]]);
    await cast(voter);

    // Close, tally; the trustee decrypts from the CLI; publish; the result.
    await page.locator('#action-close').click();
    await page.locator('#action-tally').waitFor();
    await page.locator('#action-tally').click();
    await page.locator('#action-publish').waitFor();
    const d = await trustee('decrypt');
    assert.equal(d.code, 0, d.output);
    await page.locator('#action-publish').click();
    await page.locator('#results figure').first().waitFor();
    const rows = await page.locator('#results table tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
    assert.deepEqual(rows, [['은행나무 공원', '0', '0.0%'], ['느티나무 공원', '1', '100.0%'], ['소나무 공원', '0', '0.0%']]);
    // One of the two voters on the roll voted (a half, above a quarter); one choice has every vote.
    assert.match(await page.textContent('#results .turnout'), /투표권자 2명 중 1명 투표 \(50\.0%\)/);
    assert.equal((await page.textContent('#results .outcome')).trim(), '확정: 느티나무 공원');
    assert.match(await page.textContent('#audit-log'), /create-election/);
    await noViolations(page, 'admin: created election published');
    await shot(page, '21-admin-created-published');
    await voter.goto(`${url}/board.html`);
    await voter.locator('#verify-run').click();
    await voter.locator('#verify-report .pill').waitFor({ timeout: 120_000 });
    assert.match(await voter.textContent('#verify-report'), /유효: 기록 전체가 검증되었습니다/);
    await shot(voter, '22-board-created-published');
    noProblems(page);
    noProblems(voter);
  } finally {
    server.stop();
  }
});

test('score and scale questions: answered with the keyboard, audited, cast; the board shows points, averages and distributions', async () => {
  const manifest = new URL('../../examples/manifests/score-and-scale.toml', import.meta.url).pathname;
  const server = await startDemo(['--manifest', manifest]);
  try {
    const page = await newPage(browser);
    await page.goto(`${server.url}/vote.html`);
    await login(page, 0);
    await page.locator('#credential-form button[type=submit]').click();

    // A score: a list box of 0–5 points per choice, set from the keyboard.
    await visible(page, '#step-question');
    await page.locator('#q0-c0').waitFor();
    assert.match(await page.textContent('#question-limit'), /0점부터 5점까지/);
    await page.locator('#h-question').focus();
    for (const [c, presses] of [[0, 5], [1, 3]]) {
      await tabTo(page, `#q0-c${c}`);
      for (let i = 0; i < presses; i++) await page.keyboard.press('ArrowDown');
    }
    assert.equal(await page.inputValue('#q0-c0'), '5');
    assert.equal(await page.inputValue('#q0-c1'), '3');
    assert.equal(await page.inputValue('#q0-c2'), '0');
    await noViolations(page, 'vote: score question');
    await shot(page, '20-vote-score');
    await page.locator('#question-next').click();

    // A budget of 10: 13 points are refused with the running total; 10 are allowed.
    await page.locator('#q1-c0').waitFor();
    assert.match(await page.textContent('#question-limit'), /모두 합쳐 10점까지/);
    await page.selectOption('#q1-c0', '5');
    await page.selectOption('#q1-c1', '5');
    await page.selectOption('#q1-c2', '3');
    assert.match(await page.textContent('#q1-total'), /지금 13점 \/ 최대 10점/);
    await page.locator('#question-next').click();
    await visible(page, '#question-error');
    assert.match(await page.textContent('#question-error'), /10점까지 줄 수 있습니다\. 지금 13점입니다/);
    assert.equal(await page.textContent('#h-question'), '질문 2 / 3', 'still on the budget question');
    await page.selectOption('#q1-c2', '0');
    assert.match(await page.textContent('#q1-total'), /지금 10점/);
    await page.locator('#question-next').click();

    // A scale: one step per item (radio groups); an item left unanswered is named.
    await page.locator('#q2-c0-s0').waitFor();
    await page.locator('label[for=q2-c0-s4]').click();
    await page.locator('#question-next').click();
    await visible(page, '#question-error');
    assert.match(await page.textContent('#question-error'), /답하지 않은 항목: 주차장, 분리수거장/);
    await page.locator('label[for=q2-c1-s2]').click();
    await page.locator('#q2-c2-s0').focus();
    await page.keyboard.press('Space');
    await noViolations(page, 'vote: scale question');
    await shot(page, '21-vote-scale');
    await page.locator('#question-next').click();
    await visible(page, '#step-review');
    const review = await page.textContent('#review-list');
    for (const line of ['가안: 밝은 회색: 5점', '나안: 따뜻한 베이지: 3점', 'LED 조명 교체: 5점', '어린이 놀이터: 매우 만족', '주차장: 보통', '분리수거장: 매우 불만족']) {
      assert.ok(review.includes(line), `review shows ${line}: ${review}`);
    }

    // The audit opens exactly these answers (a score's order matters), then a fresh ballot is cast.
    await page.locator('#audit').click();
    await visible(page, '#step-audit');
    assert.equal(await page.locator('#audit-verdict .success').count(), 1, 'the audit matches the answers');
    const [auditFile] = await Promise.all([page.waitForEvent('download'), page.locator('#audit-download').click()]);
    const auditPath = join(out, 'audit-score-scale.json');
    await auditFile.saveAs(auditPath);
    assert.deepEqual(JSON.parse(readFileSync(auditPath, 'utf8')).decoded_choices, [[5, 3, 0], [5, 5, 0, 0], [4, 2, 0]]);
    await page.locator('#audit-back').click();
    await cast(page);

    // Close and tally (the demo's trustees decrypt at once): the board shows points and averages
    // for the scores, and for the scale how many chose each step.
    const api = (path, body, session) => postJson(server.url, path, body, session);
    const { session } = await api('/api/v1/admin/login', { name: server.admin.name, password: server.admin.password });
    await api('/api/v1/admin/close', null, session);
    await api('/api/v1/admin/tally', null, session);
    const election = await (await fetch(`${server.url}/api/v1/elections/hanbit-apartments-2026`)).json();
    assert.deepEqual(election.result, [[5, 3, 0], [5, 5, 0, 0], [0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]]);
    await page.goto(`${server.url}/board.html`);
    await page.locator('#result figure').first().waitFor({ timeout: 60_000 });
    const result = await page.textContent('#result');
    assert.match(result, /평균 점수/);
    assert.match(result, /5\.00/);
    assert.match(result, /평균\(1~5\)/);
    const scaleRow = page.locator('#result figure').nth(2).locator('tbody tr').first();
    assert.equal(await scaleRow.locator('th').textContent(), '어린이 놀이터');
    assert.deepEqual(await scaleRow.locator('td').allTextContents(), ['0', '0', '0', '0', '1', '5.00']);
    await noViolations(page, 'board: score and scale result');
    await shot(page, '22-board-score-scale');

    // The console writes the next election's score or scale question from its form.
    const admin = await newPage(browser);
    await admin.goto(`${server.url}/admin.html`);
    await admin.fill('#admin-name', server.admin.name);
    await admin.fill('#admin-password', server.admin.password);
    await admin.locator('#login-form button[type=submit]').click();
    await visible(admin, '#console');
    await admin.locator('#new-election summary').click();
    await admin.fill('#new-id', 'complex-survey-2027');
    await admin.fill('#new-title-ko', '단지 만족도 조사');
    await admin.fill('#new-title-en', 'Complex survey');
    await admin.fill('#new-question', '시설에 얼마나 만족하십니까? | How satisfied are you?');
    await admin.fill('#new-choices', '놀이터 | Playground\n주차장 | Car park');
    await admin.selectOption('#new-kind', 'scale');
    assert.equal(await admin.locator('#new-max').isVisible(), false, 'no selection limit for a scale');
    await admin.fill('#new-steps', '불만족 | Dissatisfied\n보통 | Neutral\n만족 | Satisfied');
    await admin.locator('#new-form button[type=submit]').click();
    await admin.locator('#new-result .success').waitFor();
    assert.match(await admin.textContent('#new-result'), /complex-survey-2027/);
    // A score whose budget exceeds what its choices can hold is refused with the reason.
    await admin.selectOption('#new-kind', 'score');
    await admin.fill('#new-max-score', '5');
    await admin.fill('#new-budget', '11');
    await admin.locator('#new-form button[type=submit]').click();
    await admin.locator('#new-result .alert').waitFor();
    await admin.fill('#new-budget', '8');
    await admin.locator('#new-form button[type=submit]').click();
    await admin.locator('#new-result .success').waitFor();
    await noViolations(admin, 'admin: new score question');
    noProblems(admin);

    // The record verifies with the CLI and states the same result.
    const record = join(out, 'record-score-scale');
    rmSync(record, { recursive: true, force: true });
    execFileSync(bin, ['download', '--url', server.url, '--out', record]);
    const report = execFileSync(bin, ['verify', record]).toString();
    assert.match(report, /^VALID/m);
    assert.match(report, /5 points \(average 5\.00\)\s+Design A/);
    noProblems(page);
  } finally {
    server.stop();
  }
});

/** Demo voter `n` ranks the first question's choices (`ranking`, most preferred first) and casts. */
async function castRanking(url, n, ranking) {
  const page = await newPage(browser);
  await page.goto(`${url}/vote.html`);
  await login(page, n);
  await page.locator('#credential-form button[type=submit]').click();
  await visible(page, '#step-question');
  await page.locator('#q0-r0').waitFor();
  for (const [k, c] of ranking.entries()) await page.selectOption(`#q0-r${k}`, String(c));
  await page.locator('#question-next').click();
  await visible(page, '#step-review');
  await cast(page);
  noProblems(page);
  await page.context().close();
}

test('a ranked question: ranked with the keyboard, a rank used twice refused, audited, cast; the board shows the instant-runoff rounds', async () => {
  const manifest = new URL('../../examples/manifests/ranked.toml', import.meta.url).pathname;
  const server = await startDemo(['--manifest', manifest]);
  try {
    // The question as the server publishes it: its choices' names appear in the messages below.
    const published = await (await fetch(`${server.url}/api/v1/elections/${server.election}`)).json();
    assert.equal(published.questions.length, 1);
    const q = published.questions[0];
    assert.equal(q.kind, 'ranked');
    assert.equal(q.ranks, 3);
    assert.equal(q.method, 'instant-runoff');
    assert.equal(q.choices.length, 4);
    const choice = (j) => q.choices[j].ko;

    const page = await newPage(browser);
    await page.goto(`${server.url}/vote.html`);
    await login(page, 0);
    await page.locator('#credential-form button[type=submit]').click();

    // One labelled list box per rank ("— no choice —", then every choice), set from the keyboard.
    await visible(page, '#step-question');
    await page.locator('#q0-r0').waitFor();
    assert.match(await page.textContent('#question-limit'), /최대 3개까지 순위를 매기세요/);
    assert.equal(await page.locator('#question-choices select').count(), 3);
    assert.equal(await page.textContent('label[for=q0-r0]'), '1순위');
    assert.equal(await page.textContent('label[for=q0-r2]'), '3순위');
    assert.equal(await page.inputValue('#q0-r0'), '', 'no rank is filled in at first');
    await page.locator('#h-question').focus();
    await tabTo(page, '#q0-r0');
    await page.keyboard.press('ArrowDown');
    await tabTo(page, '#q0-r1');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.inputValue('#q0-r0'), '0');
    assert.equal(await page.inputValue('#q0-r1'), '0');

    // The same choice at two ranks is named at once, marked, and refused at "next".
    await visible(page, '#question-error');
    const twice = await page.textContent('#question-error');
    assert.ok(twice.startsWith(choice(0)) && twice.includes('두 번 이상 골랐습니다'), twice);
    assert.equal(await page.getAttribute('#q0-r1', 'aria-invalid'), 'true');
    await page.locator('#question-next').click();
    await visible(page, '#question-error');
    assert.equal(await page.locator('#step-question').isVisible(), true, 'still on the ranked question');

    // Fixed from the keyboard: choice 2 second, choice 1 third.
    await page.locator('#q0-r1').focus();
    for (let i = 0; i < 2; i++) await page.keyboard.press('ArrowDown');
    await page.locator('#question-error').waitFor({ state: 'hidden' });
    assert.equal(await page.getAttribute('#q0-r1', 'aria-invalid'), null);
    await tabTo(page, '#q0-r2');
    for (let i = 0; i < 2; i++) await page.keyboard.press('ArrowDown');
    assert.deepEqual([await page.inputValue('#q0-r0'), await page.inputValue('#q0-r1'), await page.inputValue('#q0-r2')], ['0', '2', '1']);
    await noViolations(page, 'vote: ranked question');
    await shot(page, '23-vote-ranked');
    await tabTo(page, '#question-next');
    await page.keyboard.press('Enter');
    await visible(page, '#step-review');
    const lines = [`1순위: ${choice(0)}`, `2순위: ${choice(2)}`, `3순위: ${choice(1)}`];
    const review = await page.textContent('#review-list');
    for (const line of lines) assert.ok(review.includes(line), `review shows ${line}: ${review}`);

    // Going back shows each rank as it was.
    await page.locator('#edit').click();
    await page.locator('#q0-r0').waitFor();
    assert.deepEqual([await page.inputValue('#q0-r0'), await page.inputValue('#q0-r1'), await page.inputValue('#q0-r2')], ['0', '2', '1']);
    await page.locator('#question-next').click();
    await visible(page, '#step-review');

    // The audit opens exactly this ranking (in its order), then a fresh ballot is cast.
    await page.locator('#audit').click();
    await visible(page, '#step-audit');
    assert.equal(await page.locator('#audit-verdict .success').count(), 1, 'the audit matches the ranking');
    const opened = await page.textContent('#audit-list');
    for (const line of lines) assert.ok(opened.includes(line), `the audit shows ${line}: ${opened}`);
    const [auditFile] = await Promise.all([page.waitForEvent('download'), page.locator('#audit-download').click()]);
    const auditPath = join(out, 'audit-ranked.json');
    await auditFile.saveAs(auditPath);
    assert.deepEqual(JSON.parse(readFileSync(auditPath, 'utf8')).decoded_choices, [[0, 2, 1]]);
    await page.locator('#audit-back').click();
    await cast(page);
    noProblems(page);

    // Four more voters, so that the count takes three rounds with no tie: first preferences
    // 2-2-1-0, so choice 3 goes, then choice 2, whose ballot moves to choice 0: elected 3 to 2.
    for (const [n, ranking] of [[1, [0]], [2, [1]], [3, [1, 2]], [4, [2, 0]]]) await castRanking(server.url, n, ranking);

    // Close and tally (the demo's trustees decrypt at once): the rank matrix and the count.
    const api = (path, body, session) => postJson(server.url, path, body, session);
    const { session } = await api('/api/v1/admin/login', { name: server.admin.name, password: server.admin.password });
    await api('/api/v1/admin/close', null, session);
    await api('/api/v1/admin/tally', null, session);
    const election = await (await fetch(`${server.url}/api/v1/elections/${server.election}`)).json();
    assert.deepEqual(election.result, [[2, 2, 1, 0, 1, 0, 2, 0, 0, 1, 0, 0]]);
    assert.deepEqual(election.outcomes[0], { outcome: 'elected', choice: 0 });
    const { method, ballots, winners, rounds, pairwise } = election.ranked[0];
    assert.deepEqual({ method, ballots, winners, pairwise }, { method: 'instant-runoff', ballots: 5, winners: [0], pairwise: [] });
    assert.deepEqual(rounds, [
      { votes: [2, 2, 1, 0], exhausted: 0, elected: null, eliminated: 3, tie_break: null },
      { votes: [2, 2, 1, 0], exhausted: 0, elected: null, eliminated: 2, tie_break: null },
      { votes: [3, 2, 0, 0], exhausted: 0, elected: 0, eliminated: null, tie_break: null },
    ]);

    // The board: the winner, the rule in words, first preferences, and the rounds table with the
    // eliminated and the elected marked in words.
    const board = await newPage(browser);
    await board.goto(`${server.url}/board.html`);
    await board.locator('#result figure').first().waitFor({ timeout: 60_000 });
    const result = await board.textContent('#result');
    assert.ok(result.includes(`당선: ${choice(0)}`), result);
    assert.match(result, /즉시결선투표 방식/);
    assert.match(result, /1순위 득표/);
    const table = (caption) => board.locator('#result table').filter({ has: board.locator('caption', { hasText: caption }) });
    const cells = (t) => t.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.deepEqual((await cells(table('순위별 득표')))[0], [choice(0), '2', '1', '0']);
    const roundsTable = table('차수별 개표 결과');
    assert.deepEqual(await roundsTable.locator('thead th').allTextContents(), ['선택지', '1차', '2차', '3차']);
    assert.deepEqual(await cells(roundsTable), [
      [choice(0), '2', '2', '3 (당선)'],
      [choice(1), '2', '2', '2'],
      [choice(2), '1', '1 (탈락)', '–'],
      [choice(3), '0 (탈락)', '–', '–'],
      ['소진된 표', '0', '0', '0'],
    ]);
    await noViolations(board, 'board: ranked result');
    await shot(board, '24-board-ranked');
    // The whole election verified in the browser: every shuffle, mixed-row decryption and the count.
    await board.locator('#verify-run').click();
    await board.locator('#verify-report .pill').waitFor({ timeout: 120_000 });
    assert.equal(await board.locator('#verify-report .pill.ok').count(), 1, await board.textContent('#verify-report'));
    noProblems(board);

    // The record verifies with the CLI (which recounts the rankings).
    const record = join(out, 'record-ranked');
    rmSync(record, { recursive: true, force: true });
    execFileSync(bin, ['download', '--url', server.url, '--out', record]);
    assert.match(execFileSync(bin, ['verify', record]).toString(), /^VALID/m);
  } finally {
    server.stop();
  }
});

test('one server hosts two elections: the home page lists them, and an administrator scoped to one manages only it', async () => {
  const server = await startDemo();
  try {
    const api = (path, body, session) => postJson(server.root, path, body, session);
    const { session } = await api('/api/v1/admin/login', { name: server.admin.name, password: server.admin.password });
    const scoped = { name: 'apt-manager', password: 'apartment-manager-pw' };
    await api('/api/v1/admin/accounts', { ...scoped, role: 'administrator', elections: ['apt-2026'] }, session);

    // The home page lists both elections, each with its own booth, check page and board.
    const home = await newPage(browser);
    await home.goto(`${server.root}/`);
    await home.locator('#elections li').nth(1).waitFor();
    assert.equal(await home.locator('#elections li').count(), 2);
    assert.match(await home.textContent('#elections'), /한빛아파트 입주자 투표/);
    assert.match(await home.textContent('#elections'), /한표 시범 주민투표/);
    await noViolations(home, 'home: two elections');
    await shot(home, '40-home-elections');
    // Each election's booth is at its own address and shows that election.
    await home.locator('#election-apt-2026 a[href="/e/apt-2026/vote.html"]').click();
    await home.waitForURL(/\/e\/apt-2026\/vote\.html$/);
    await home.waitForFunction(() => document.getElementById('election-name')?.textContent.includes('한빛아파트'));
    // A page at the top of a server of several elections sends the visitor to the list.
    await home.goto(`${server.root}/board.html`);
    await home.waitForURL(`${server.root}/`);
    noProblems(home);

    // The scoped administrator sees and manages only the apartment vote.
    const page = await newPage(browser);
    await page.goto(`${server.root}/admin.html`);
    await visible(page, '#login');
    await page.fill('#admin-name', scoped.name);
    await page.fill('#admin-password', scoped.password);
    await page.locator('#login-form button[type=submit]').click();
    await visible(page, '#console');
    await page.locator('#elections tbody tr').first().waitFor();
    assert.equal(await page.locator('#elections tbody tr').count(), 1);
    assert.match(await page.textContent('#elections'), /apt-2026/);
    assert.doesNotMatch(await page.textContent('#elections'), /demo-2026/);
    assert.equal(await page.locator('#new-election').isVisible(), false, 'no election creation for a scoped account');
    await page.locator('#action-close').waitFor();
    await noViolations(page, 'admin: scoped to one election');
    await shot(page, '41-admin-scoped');
    // Its session is refused by the other election, by name.
    const token = await page.evaluate(() => sessionStorage.getItem('hanpyo-admin'));
    const other = await fetch(`${server.root}/e/demo-2026/api/v1/admin/status`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(other.status, 403);
    assert.equal((await other.json()).code, 'not-your-election');
    noProblems(page);

    // The platform administrator switches between both and closes the apartment vote only.
    const chair = await newPage(browser);
    await chair.goto(`${server.root}/admin.html`);
    await chair.fill('#admin-name', server.admin.name);
    await chair.fill('#admin-password', server.admin.password);
    await chair.locator('#login-form button[type=submit]').click();
    await visible(chair, '#console');
    // It starts with the first election by id; it switches to the other and back.
    await chair.locator('#manage-demo-2026').click();
    await chair.locator('#elections tr[aria-current="true"]').filter({ hasText: 'demo-2026' }).waitFor();
    await chair.locator('#manage-apt-2026').click();
    await chair.locator('#elections tr[aria-current="true"]').filter({ hasText: 'apt-2026' }).waitFor();
    await chair.locator('#action-close').click();
    await chair.locator('#action-tally').waitFor();
    const phases = Object.fromEntries((await (await fetch(`${server.root}/api/v1/elections`)).json()).map((e) => [e.election_id, e.phase]));
    assert.deepEqual(phases, { 'apt-2026': 'closed', 'demo-2026': 'open' });
    await noViolations(chair, 'admin: platform, two elections');
    noProblems(chair);
  } finally {
    server.stop();
  }
});
