// Benchmark (not a test): encrypt + prove + sign a 1-of-5 ballot with the shipped WebAssembly
// bundle (web/pkg) in Debian's Chromium, on the booth's page of a demo server, and the same bundle
// in Node's V8 in the same run as a baseline. Run: scripts/bench-browser
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDemo, launch, newPage, root } from './harness.mjs';

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
} finally {
  await browser.close();
  server.stop();
}
