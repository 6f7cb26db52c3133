// Shared by the browser tests and the browser benchmark: a demo server from the project's own
// binary, Debian's Chromium through playwright-core, axe-core, screenshots.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');
// The binary cargo built (honouring CARGO_TARGET_DIR, as scripts/build-wasm does).
export const bin = process.env.HANPYO_BIN || join(process.env.CARGO_TARGET_DIR || join(root, 'target'), 'debug/hanpyo');
export const out = process.env.HANPYO_TEST_OUT || join(root, 'target/browser-test-output');
mkdirSync(out, { recursive: true });

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Starts `hanpyo ARGS...` as a server; resolves with `ready(stdout so far)`'s first non-null answer
 * (what the server printed once it listens) and a `stop` function.
 */
async function startServer(args, ready, timeoutMs) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  let errText = '';
  child.stderr.on('data', (d) => { errText += d; });
  const info = await new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${args[0]} did not start: ${text}${errText}`)), timeoutMs);
    child.stdout.on('data', (d) => {
      text += d;
      const answer = ready(text);
      if (answer) { clearTimeout(timer); ok(answer); }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail(new Error(`${args[0]} exited ${code}: ${errText}`)); });
  });
  return { ...info, stop: () => { child.kill('SIGTERM'); } };
}

const printedUrl = (text) => text.match(/^url: (\S+)$/m)?.[1].replace(/\/$/, '');
/** A demo's first election: `[id, its address /e/<id>]`. */
const printedElection = (text) => {
  const m = text.match(/^election: (\S+) (\S+)/m);
  return m ? [m[1], m[2].replace(/\/$/, '')] : null;
};

/** Starts `hanpyo demo` on a free port; resolves when it prints its address and admin login. */
export async function startDemo(args = []) {
  const data = mkdtempSync(join(tmpdir(), 'hanpyo-web-'));
  rmSync(data, { recursive: true });
  const server = await startServer(
    ['demo', '--listen', '127.0.0.1:0', '--data', data, '--voters', '30', ...args],
    (text) => {
      // The pages are tried at the first election's own address; `root` lists every election.
      const root = printedUrl(text);
      const election = printedElection(text);
      const admin = text.match(/^admin login: (\S+) (\S+)$/m);
      const issuers = text.match(/^issuer logins: .* password (\S+)$/m);
      return root && election && admin && text.includes('vote:')
        ? {
          root, url: election[1], election: election[0], admin: { name: admin[1], password: admin[2] },
          issuerPassword: issuers?.[1],
        }
        : null;
    },
    120_000,
  );
  return { ...server, data };
}

/** Starts `hanpyo serve` on a data directory; resolves with its URL once it listens. */
export async function startServe(data) {
  return startServer(['serve', '--data', data, '--listen', '127.0.0.1:0', '--dev-outbox'], (text) => {
    const url = printedUrl(text);
    return url ? { url } : null;
  }, 60_000);
}

/** Runs `hanpyo ARGS...` in the background; resolves with its exit code and output when it ends. */
export function runInBackground(args) {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  return new Promise((ok) => child.on('exit', (code) => ok({ code, output })));
}

/** Debian's Chromium (never a downloaded browser). */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/** A page that fails the test on any console error or uncaught exception. */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ acceptDownloads: true, locale: 'ko-KR', ...options });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) page.problems.push(`console: ${m.text()}`);
  });
  page.on('dialog', (d) => d.accept());
  return page;
}

/** axe-core's WCAG 2.x A/AA rules on the page as it is now: the violations, if any. */
export async function axe(page) {
  // Evaluated through the DevTools protocol, so the page's CSP does not block it.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
  const r = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
  }));
  return r.violations.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

/** Fails the test with axe-core's violations on `page`, if any (`where` names the state). */
export async function noViolations(page, where) {
  const v = await axe(page);
  assert.deepEqual(v, [], `axe-core violations on ${where}:\n${v.join('\n')}`);
}

/** Fails the test with the page's console errors and uncaught exceptions, if any. */
export function noProblems(page) {
  assert.deepEqual(page.problems, [], page.problems.join('\n'));
}

export async function shot(page, name) {
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
}

/** Presses Tab until the focused element matches `selector` (keyboard-only reachability). */
export async function tabTo(page, selector, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`${selector} is not reachable with the Tab key`);
}
