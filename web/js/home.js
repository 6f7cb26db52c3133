import { setupPage, currentElection, pick, phaseText, errorText, say } from './common.js';

let election;
function render() {
  if (!election) return;
  document.getElementById('election-title').textContent = pick(election.title);
  document.getElementById('election-phase').textContent = phaseText(election.phase);
}

await setupPage();
try {
  election = await currentElection();
  render();
} catch (e) {
  say(document.getElementById('load-error'), errorText(e));
}
document.addEventListener('languagechange', render);
