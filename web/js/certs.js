// Shared by the certificate pages: the certificate WebAssembly bundle (web/pkg-certs), the
// registry's trust anchors, status lists, and how a verification result is shown.
import { api, el, t, ApiError, loadWasm } from './common.js';

/** hanpyo-wasm built with the `certs` feature (web/pkg-certs), loaded once. */
export async function certsWasm() {
  return loadWasm('/pkg-certs');
}

/** Now, in Unix seconds. */
export const now = () => Math.floor(Date.now() / 1000);

/** This server's registry (its trust anchors and issuers), or null when it hosts none. */
export async function registry() {
  try {
    return await api('/api/v1/certs', { base: '' });
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}

/** The status list URL a certificate names (its Data Integrity entry or its SD-JWT claim). */
export function statusUrl(bundle) {
  if (bundle.credential) return bundle.credential.credentialStatus?.statusListCredential ?? null;
  const jwt = (bundle.sdJwt || '').split('~')[0];
  try {
    const payload = JSON.parse(new TextDecoder().decode(
      Uint8Array.from(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))));
    return payload.status?.status_list?.uri ?? null;
  } catch (_) {
    return null;
  }
}

/**
 * The certificate's current status list: from this server when it serves that list's path (the
 * list is signed by its issuer, so where it comes from does not matter), else from its URL.
 * Null when neither answers.
 */
export async function fetchStatus(bundle) {
  const url = statusUrl(bundle);
  if (!url) return null;
  const m = url.match(/\/api\/v1\/certs\/status\/(z[1-9A-HJ-NP-Za-km-z]{1,80})\/(\d{1,12})$/);
  const tries = m ? [`/api/v1/certs/status/${m[1]}/${m[2]}`, url] : [url];
  for (const u of tries) {
    try {
      const r = await fetch(u);
      if (r.ok) return await r.json();
    } catch (_) { /* the next */ }
  }
  return null;
}

/** A template's field label in the current language. */
export function fieldLabel(templates, type, name) {
  const f = templates.find((x) => x.id === type)?.fields.find((x) => x.name === name);
  if (!f) return name;
  return document.documentElement.lang === 'en' ? f.label_en : f.label_ko;
}

/** A template's title in the current language. */
export function typeTitle(templates, type) {
  const x = templates.find((y) => y.id === type);
  if (!x) return type;
  return document.documentElement.lang === 'en' ? x.title_en : x.title_ko;
}

/** A verifier's refusal as a sentence (its code translated; the English detail kept aside). */
export function refusalText(code) {
  return t(`refusal.${code}`);
}

/** `<dt>/<dd>` rows of a verified certificate's fields. */
export function fieldRows(templates, v) {
  return Object.entries(v.fields).flatMap(([k, val]) => [
    el('dt', {}, fieldLabel(templates, v.type, k)),
    el('dd', {}, typeof val === 'string' ? val : JSON.stringify(val)),
  ]);
}
