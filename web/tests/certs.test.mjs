// Browser tests of the certificate pages (docs/certs.md): an issuer issues a drone licence bound
// to a holder's device key; the holder keeps it and presents only its category to a verifier,
// who checks it in the browser; a replayed presentation and a revoked licence are refused; the
// provenance page shows a lot's balanced history. axe-core must find no violation on any page.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, launch, newPage, shot, noViolations, noProblems } from './harness.mjs';

let browser;
let demo;
before(async () => {
  browser = await launch();
  demo = await startDemo();
});
after(async () => {
  demo?.stop();
  await browser?.close();
});

const visible = (page, sel) => page.locator(`${sel}:not([hidden])`).first().waitFor();

async function issuerPage() {
  const page = await newPage(browser);
  await page.goto(`${demo.root}/cert-issuer.html`);
  return page;
}

test('issue, keep, present only the category, verify; replay and revocation refused; provenance balances', async () => {
  // The issuer logins and their password are printed by the demo.
  const res = await fetch(`${demo.root}/api/v1/certs`);
  const registry = await res.json();
  assert.ok(registry.issuers.length >= 9, 'the demo registers an issuer per type and four parties');
  const issuerPassword = demo.issuerPassword;
  assert.ok(issuerPassword, 'the demo printed the issuer password');

  // The holder's phone: a key made on the device.
  const holder = await newPage(browser, { viewport: { width: 390, height: 844 } });
  await holder.goto(`${demo.root}/cert-wallet.html`);
  await holder.locator('#did:has-text("did:key:z6Mk")').waitFor();
  const did = (await holder.textContent('#did')).trim();
  await noViolations(holder, 'the empty wallet');

  // The issuer: log in, issue a drone licence bound to that key.
  const issuer = await issuerPage();
  await issuer.fill('#account', 'issuer-drone');
  await issuer.fill('#password', issuerPassword);
  await issuer.locator('#login-form button[type=submit]').click();
  await visible(issuer, '#console');
  await noViolations(issuer, 'the issuer console');
  await issuer.fill('#f-holderName', '박지성');
  await issuer.fill('#f-birthDate', '1990-05-17');
  await issuer.fill('#f-licenceNumber', 'DR-2026-000123');
  await issuer.fill('#f-category', 'C1');
  await issuer.fill('#holder', did);
  await issuer.locator('#issue-form button[type=submit]').click();
  await visible(issuer, '#issued');
  assert.match(await issuer.textContent('#issued'), /발급했습니다: 상태 번호 0/);
  const handOver = await issuer.locator('#issued a').getAttribute('href');
  await shot(issuer, 'cert-issuer');
  await noViolations(issuer, 'the issuer console after issuing');

  // The holder takes it into the wallet: valid, status as stapled.
  await holder.goto(`${demo.root}${handOver}`);
  await holder.locator('#certs li').first().waitFor();
  assert.match(await holder.textContent('#certs'), /드론 조종자 자격증명/);
  assert.match(await holder.textContent('#certs'), /유효/);
  await noViolations(holder, 'the wallet with a licence');

  // The verifier's request.
  const verifier = await newPage(browser);
  await verifier.goto(`${demo.root}/cert-verify.html`);
  await verifier.locator('#nonce-value').waitFor();
  const nonce = (await verifier.textContent('#nonce-value')).trim();
  const audience = `${demo.root}/cert-verify.html`;
  await noViolations(verifier, 'the verifier page');

  // The holder presents only the category, for that request.
  await holder.locator('#certs button', { hasText: '제시하기' }).first().click();
  await visible(holder, '#present');
  await holder.fill('#audience', audience);
  await holder.fill('#nonce', nonce);
  await holder.check('input[name=disclose][value=category]');
  await holder.locator('#present-form button[type=submit]').click();
  await visible(holder, '#shown');
  const code = (await holder.textContent('#relay-code')).trim();
  assert.match(code, /^[0-9a-f]{24}$/);
  await shot(holder, 'cert-wallet-present');
  await noViolations(holder, 'the wallet showing a presentation');

  // The verifier checks it in the browser: valid, the category only.
  await verifier.fill('#code', code);
  await verifier.locator('#verify-form button[type=submit]').click();
  await visible(verifier, '#result');
  await verifier.locator('#verdict .pill').waitFor();
  assert.equal((await verifier.textContent('#verdict')).trim(), '유효한 증명서', await verifier.textContent('#reason'));
  const shownFields = await verifier.textContent('#fields');
  assert.match(shownFields, /C1/);
  assert.doesNotMatch(shownFields, /1990-05-17|박지성/, 'only the category was disclosed');
  assert.match(await verifier.textContent('#checks'), /소지자 본인이 이 요청에 맞춰 제시했습니다/);
  await shot(verifier, 'cert-verify-valid');
  await noViolations(verifier, 'a valid result');

  // The same presentation's number again: gone (one fetch). A presentation for the old request,
  // shown after the verifier made a new one: replayed.
  await verifier.fill('#code', code);
  await verifier.locator('#verify-form button[type=submit]').click();
  await visible(verifier, '#error');
  assert.match(await verifier.textContent('#error'), /이미 사용되었거나/);
  await holder.locator('#present-form button[type=submit]').click();
  await holder.locator(`#relay-code:not(:has-text("${code}"))`).waitFor();
  const second = (await holder.textContent('#relay-code')).trim();
  await verifier.locator('#new-request').click();
  await verifier.locator(`#nonce-value:not(:has-text("${nonce}"))`).waitFor();
  await verifier.fill('#code', second);
  await verifier.locator('#verify-form button[type=submit]').click();
  await verifier.locator('#verdict .pill.bad').waitFor();
  assert.match(await verifier.textContent('#reason'), /이 요청을 위해 만든 제시가 아닙니다/);

  // The issuer revokes it; the holder's refreshed status shows it.
  await issuer.reload();
  await visible(issuer, '#console');
  await issuer.locator('#recent button', { hasText: '폐지' }).first().click();
  await issuer.locator('#recent .pill.bad').first().waitFor();
  await holder.locator('#certs button', { hasText: '폐지 여부 새로 받기' }).first().click();
  await holder.locator('#certs .pill.bad').first().waitFor();
  assert.match(await holder.textContent('#certs'), /폐지한 증명서/);

  // In English, the verifier page still passes axe.
  await verifier.locator('#lang-switch').click();
  await verifier.locator('html[lang=en]').waitFor();
  await noViolations(verifier, 'the verifier page in English');

  // Provenance: the demo's export lot, balanced from collection.
  const prov = await newPage(browser);
  await prov.goto(`${demo.root}/cert-provenance.html?lot=EXP-2026-001`);
  await visible(prov, '#result');
  assert.equal(await prov.locator('#history tr').count(), 5);
  assert.match(await prov.textContent('#verdict'), /투입량 이내/);
  await shot(prov, 'cert-provenance');
  await noViolations(prov, 'the provenance page');
  for (const p of [holder, issuer, verifier, prov]) noProblems(p);
});
