// The home page: an election's (at /e/<id>/, or a server's only one), or the list of every
// election a server hosts, current ones first, each with its booth, check page and board.
import { setupPage, api, currentElection, pick, phaseText, errorText, say, el, t, when, electionBase } from './common.js';

let election;
let list;

function renderList() {
  const now = Date.now() / 1000;
  // Current (open or about to be) first, then by their window.
  const order = (e) => (e.phase === 'published' || e.closes_at < now ? 1 : 0);
  const sorted = [...list].sort((a, b) => order(a) - order(b) || a.opens_at - b.opens_at);
  document.getElementById('election-list').hidden = false;
  document.getElementById('cards').hidden = true;
  document.getElementById('election-title').textContent = t('home.elections-heading');
  document.getElementById('election-phase').parentElement.hidden = true;
  document.getElementById('elections').replaceChildren(...sorted.map((e) => {
    const at = `/e/${encodeURIComponent(e.election_id)}`;
    return el('li', { class: 'panel', id: `election-${e.election_id}` },
      el('h3', {}, el('a', { href: `${at}/` }, pick(e.title))),
      el('p', {}, `${phaseText(e.phase)} · ${when(e.opens_at)} – ${when(e.closes_at)}`),
      e.turnout ? el('p', {}, t('home.turnout', { voted: e.turnout.voted, eligible: e.turnout.eligible })) : null,
      el('p', { class: 'actions' },
        el('a', { class: 'button', href: `${at}/vote.html`, 'aria-label': t('home.vote-in', { title: pick(e.title) }) }, t('home.vote')),
        el('a', { class: 'button secondary', href: `${at}/check.html`, 'aria-label': t('home.check-in', { title: pick(e.title) }) }, t('home.check')),
        el('a', { class: 'button secondary', href: `${at}/board.html`, 'aria-label': t('home.board-in', { title: pick(e.title) }) }, t('home.board'))));
  }));
}

function render() {
  if (list && list.length > 1) { renderList(); return; }
  if (!election) return;
  document.getElementById('election-title').textContent = pick(election.title);
  document.getElementById('election-phase').textContent = phaseText(election.phase);
}

await setupPage();
try {
  if (!electionBase) list = await api('/api/v1/elections');
  if (!list || list.length === 1) election = await currentElection();
  render();
} catch (e) {
  say(document.getElementById('load-error'), errorText(e));
}
document.addEventListener('languagechange', render);
