// Benchmark (not a test), with the shipped WebAssembly bundle (web/pkg) in Debian's Chromium:
// 1. encrypt + prove + sign a 1-of-5 ballot on the booth's page, and the same bundle in Node's V8
//    in the same run as a baseline;
// 2. the board's "verify this election in your browser" on a simulated 1-of-5 election of
//    VERIFY_VOTERS voters (default 10,000), against the native `hanpyo verify` (all cores) and the
//    same bundle in Node, in the same run.
// Run: scripts/bench-browser
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemo, launch, newPage, root, bin } from './harness.mjs';

const N = Number(process.env.N || 30);
const server = await startDemo(['--manifest', join(root, 'examples/manifests/one-of-five.toml')]);
const browser = await launch();
try {
  const page = await newPage(browser);
  await page.goto(`${server.url}/vote.html`);
  await page.locator('#demo-voters button').first().waitFor();
  const demo = await (await fetch(`${server.url}/api/v1/demo`)).json();
  const elections = await (await fetch(`${server.url}/api/v1/elections`)).json();
  const election = await (await fetch(`${server.url}/api/v1/elections/${elections[0].election_id}`)).json();
  const request = JSON.stringify({
    manifest_entry: election.manifest_entry,
    joint_key: election.joint_key,
    credential: demo.voters[0].credential,
    selections: [[2]],
    audit: false,
  });
  const chromium = await page.evaluate(async ({ request, n }) => {
    const w = await import('/pkg/hanpyo_wasm.js');
    await w.default({ module_or_path: '/pkg/hanpyo_wasm_bg.wasm' });
    w.makeBallot(request); // warm up
    const t = [];
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      w.makeBallot(request);
      t.push(performance.now() - s);
    }
    return { t: t.sort((a, b) => a - b), ua: navigator.userAgent };
  }, { request, n: N });

  const w = await import(join(root, 'web/pkg/hanpyo_wasm.js'));
  w.initSync({ module: readFileSync(join(root, 'web/pkg/hanpyo_wasm_bg.wasm')) });
  w.makeBallot(request);
  const node = [];
  for (let i = 0; i < N; i++) {
    const s = performance.now();
    w.makeBallot(request);
    node.push(performance.now() - s);
  }
  node.sort((a, b) => a - b);
  const med = (t) => t[t.length >> 1];
  const c = chromium.t;
  console.log(`makeBallot 1-of-5 (encrypt + prove + sign), n=${N}, shipped web/pkg bundle`);
  console.log(`  Chromium (${chromium.ua.match(/Chrome\/[\d.]+/)?.[0]}): median ${med(c).toFixed(1)} ms, min ${c[0].toFixed(1)}, max ${c[N - 1].toFixed(1)}; target < 100 ms`);
  console.log(`  Node ${process.version} (same run, baseline): median ${med(node).toFixed(1)} ms, min ${node[0].toFixed(1)}, max ${node[N - 1].toFixed(1)}`);
  console.log(`  Chromium / Node: ${(med(c) / med(node)).toFixed(2)}`);

  // 2. Whole-record verification.
  const voters = Number(process.env.VERIFY_VOTERS || 10000);
  const sim = mkdtempSync(join(tmpdir(), 'hanpyo-bench-'));
  rmSync(sim, { recursive: true });
  execFileSync(bin, ['simulate', '--voters', String(voters), '--seed', '7', '--revote-percent', '5',
    '--manifest', join(root, 'examples/manifests/one-of-five.toml'), '--out', sim], { stdio: 'ignore' });
  const files = {};
  for (const f of ['entries', 'checkpoint', 'checkpoints']) {
    const p = join(sim, 'record', f);
    files[f] = existsSync(p) ? readFileSync(p) : Buffer.alloc(0);
  }
  const t0 = performance.now();
  execFileSync(bin, ['verify', join(sim, 'record')], { stdio: 'ignore' });
  const nativeMs = performance.now() - t0;
  await page.route('**/bench-record/*', (route) => {
    const name = route.request().url().split('/').pop();
    route.fulfill({ status: 200, contentType: 'application/octet-stream', body: files[name] });
  });
  const inBrowser = await page.evaluate(async () => {
    const w = await import('/pkg/hanpyo_wasm.js');
    await w.default({ module_or_path: '/pkg/hanpyo_wasm_bg.wasm' });
    const get = async (f) => new Uint8Array(await (await fetch(`/bench-record/${f}`)).arrayBuffer());
    const [e, c, cs] = [await get('entries'), await get('checkpoint'), await get('checkpoints')];
    let calls = 0;
    const s = performance.now();
    const report = JSON.parse(w.verifyRecord(e, c, cs, () => { calls += 1; }));
    return { ms: performance.now() - s, valid: report.valid, ballots: report.summary.ballots_cast, calls, mb: e.length / 1e6 };
  });
  const s2 = performance.now();
  const nodeReport = JSON.parse(w.verifyRecord(files.entries, files.checkpoint, files.checkpoints, () => {}));
  const nodeMs = performance.now() - s2;
  rmSync(sim, { recursive: true, force: true });
  console.log(`verify a simulated 1-of-5 election: ${voters} voters, ${inBrowser.ballots} ballots, ${inBrowser.mb.toFixed(1)} MB of entries`);
  console.log(`  Chromium, one thread: ${(inBrowser.ms / 1000).toFixed(1)} s (${Math.round(inBrowser.ballots / (inBrowser.ms / 1000))} ballots/s), valid=${inBrowser.valid}, ${inBrowser.calls} progress calls`);
  console.log(`  Node, same bundle: ${(nodeMs / 1000).toFixed(1)} s, valid=${nodeReport.valid}`);
  console.log(`  native hanpyo verify (all cores, incl. process start): ${(nativeMs / 1000).toFixed(1)} s`);
  console.log(`  Chromium / native: ${(inBrowser.ms / nativeMs).toFixed(2)}; 100,000 ballots in Chromium ≈ ${((inBrowser.ms / inBrowser.ballots) * 100).toFixed(0)} s`);
} finally {
  await browser.close();
  server.stop();
}
