// Runs the election verifier (hanpyo-wasm's verifyRecord) off the page's thread, reporting
// progress, so the page stays responsive and the progress bar moves.
import init, { verifyRecord } from '/pkg/hanpyo_wasm.js';

async function file(base, name) {
  const r = await fetch(`${base}/api/v1/record/${name}`);
  if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

self.onmessage = async (ev) => {
  const base = ev.data.base || '';
  try {
    await init({ module_or_path: '/pkg/hanpyo_wasm_bg.wasm' });
    const started = performance.now();
    // The checkpoint first, then the entries and earlier checkpoints at exactly its size.
    const checkpoint = await file(base, 'checkpoint');
    const size = new TextDecoder().decode(checkpoint).split('\n')[1];
    const [entries, checkpoints] = await Promise.all(
      ['entries', 'checkpoints'].map((f) => file(base, `${f}?size=${encodeURIComponent(size)}`)),
    );
    self.postMessage({ type: 'downloaded', bytes: entries.length + checkpoint.length + checkpoints.length });
    const verifying = performance.now();
    const report = JSON.parse(verifyRecord(entries, checkpoint, checkpoints, (n) => {
      self.postMessage({ type: 'progress', entries: n });
    }));
    const done = performance.now();
    self.postMessage({
      type: 'done',
      report,
      download_ms: verifying - started,
      verify_ms: done - verifying,
    });
  } catch (e) {
    self.postMessage({ type: 'error', message: String(e && e.message ? e.message : e) });
  }
};
