// "Provenance": a lot's history back to collection from the public log, each step's balance.
import { setupPage, api, errorText, say, t, el, num } from './common.js';

const $ = (id) => document.getElementById(id);
let last = null;

function render() {
  if (!last) return;
  $('h-result').textContent = t('provenance.of', { lot: last.lot });
  $('verdict').replaceChildren(el('strong', { class: last.balanced ? 'pill ok' : 'pill bad' },
    last.balanced ? t('provenance.balanced') : t('provenance.unbalanced')));
  $('history').replaceChildren(...last.history.map((e) => el('tr', {},
    el('td', {}, t(`stage.${e.stage}`)),
    el('td', { class: 'mono' }, e.lot),
    el('td', {}, e.partyName),
    el('td', {}, e.inputs.length ? e.inputs.map((i) => `${i.lot} ${num(i.quantity)}`).join(', ') : '—'),
    el('td', {}, `${num(e.quantity)} ${e.unit}`),
    el('td', {}, e.inputs.length ? `${num(e.loss)} ${e.unit}` : '—'),
    el('td', {}, `${num(e.left)} ${e.unit}`),
    el('td', {}, el('span', { class: e.balanced ? 'pill ok' : 'pill bad' }, e.balanced ? t('provenance.ok') : t('provenance.over'))))));
  $('used-by').textContent = last.usedBy.length
    ? t('provenance.used-by', { lots: last.usedBy.map((u) => u.lot).join(', ') }) : '';
}

async function show(ev) {
  ev?.preventDefault();
  say($('error'), '');
  try {
    last = await api(`/api/v1/certs/lots/${encodeURIComponent($('lot').value.trim())}`, { base: '' });
    render();
    $('result').hidden = false;
    $('h-result').focus();
  } catch (e) {
    $('result').hidden = true;
    say($('error'), errorText(e));
    $('error').focus();
  }
}

async function main() {
  await setupPage();
  $('lot-form').addEventListener('submit', show);
  document.addEventListener('languagechange', render);
  const q = new URLSearchParams(location.search).get('lot');
  if (q) {
    $('lot').value = q;
    show();
  }
}

main();
