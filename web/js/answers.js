// A voter's answer to one question, whatever its kind, as the booth, the review, an audit and the
// check page show it. An answer is what the WebAssembly booth takes (docs/api.md): the chosen
// choice indices (referendum, choose-one, choose-range), the points of each choice (score), the
// step of each item, from 0 (scale), or the ranked choice indices, most preferred first (ranked).
import { el, pick, t } from './common.js';

export const isScore = (q) => q.kind === 'score';
export const isScale = (q) => q.kind === 'scale';
export const isRanked = (q) => q.kind === 'ranked';

/** The rule of a question, as the sentence under its title. */
export function limitText(q) {
  if (isScore(q)) {
    const each = t('vote.limit.score', { max: q.max_score });
    return q.budget ? `${each} ${t('vote.limit.budget', { budget: q.budget })}` : each;
  }
  if (isScale(q)) return t('vote.limit.scale');
  if (isRanked(q)) return t('vote.limit.ranked', { n: q.ranks });
  if (q.min === q.max) return t('vote.limit.exactly', { n: q.max });
  if (q.min === 0) return t('vote.limit.up-to', { n: q.max });
  return t('vote.limit.between', { min: q.min, max: q.max });
}

/** An answer as lines of text, one per chosen choice, per score, per rated item or per rank. */
export function answerLines(q, answer = []) {
  if (isScore(q)) return q.choices.map((c, j) => t('vote.score.line', { choice: pick(c), n: answer[j] ?? 0 }));
  if (isScale(q)) {
    return q.choices.map((c, j) => t('vote.scale.line', {
      item: pick(c),
      step: q.steps[answer[j]] ? pick(q.steps[answer[j]]) : t('vote.scale.unrated'),
    }));
  }
  if (!answer.length) return [t('vote.review.none')];
  if (isRanked(q)) return answer.map((j, k) => t('vote.ranked.line', { rank: k + 1, choice: pick(q.choices[j]) }));
  return answer.map((j) => pick(q.choices[j]));
}

/** The answer as a list element. */
export function answerList(q, answer) {
  return el('ul', {}, ...answerLines(q, answer).map((line) => el('li', {}, line)));
}

/** Whether two answers to `q` are the same (a selection's order does not matter; a score's, a
 * scale's and a ranking's does). */
export function sameAnswer(q, a = [], b = []) {
  const norm = (x) => (isScore(q) || isScale(q) || isRanked(q) ? [...x] : [...x].sort((m, n) => m - n));
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}

/** What is wrong with an answer to `q` (a sentence), or null when it is allowed. */
export function answerError(q, answer) {
  if (isScore(q)) {
    const total = answer.reduce((s, v) => s + v, 0);
    return q.budget && total > q.budget ? t('vote.question.over-budget', { budget: q.budget, n: total }) : null;
  }
  if (isScale(q)) {
    const missing = q.choices.filter((_, j) => answer[j] === undefined || answer[j] === null);
    return missing.length ? t('vote.question.unrated', { items: missing.map(pick).join(', ') }) : null;
  }
  if (isRanked(q)) {
    // A choice at two ranks would make the ballot ambiguous; the booth refuses it before encrypting.
    const twice = answer.find((j, k) => answer.indexOf(j) !== k);
    if (twice !== undefined) return t('vote.question.ranked-twice', { choice: pick(q.choices[twice]) });
  }
  if (answer.length < q.min || answer.length > q.max) {
    return t('vote.question.wrong-count', { limit: limitText(q), n: answer.length });
  }
  return null;
}

/**
 * The inputs for an answer to question `i`: radio buttons or checkboxes for a selection; for a
 * score a labelled list box of 0..max_score points per choice and the running total; for a scale
 * a group of radio buttons (its steps) per item; for a ranking a labelled list box of the choices
 * per rank. Nothing needs dragging or a pointer.
 */
export function answerInputs(q, i, answer = []) {
  if (isRanked(q)) {
    // Rank k shows the answer's k-th choice: the answer skips ranks left empty, so the choices
    // move up to fill the gaps, which ranks them the same.
    return Array.from({ length: q.ranks }, (_, k) => {
      const id = `q${i}-r${k}`;
      const select = el('select', { id, 'data-rank': String(k) },
        el('option', { value: '', selected: answer[k] === undefined }, t('vote.ranked.none')),
        ...q.choices.map((c, j) => el('option', { value: String(j), selected: answer[k] === j }, pick(c))));
      return el('div', { class: 'choice ranked' }, el('label', { for: id }, t('vote.ranked.rank', { n: k + 1 })), select);
    });
  }
  if (isScore(q)) {
    const rows = q.choices.map((c, j) => {
      const id = `q${i}-c${j}`;
      const select = el('select', { id, 'data-choice': String(j) },
        ...Array.from({ length: q.max_score + 1 }, (_, v) => el('option', { value: String(v), selected: (answer[j] ?? 0) === v },
          t('vote.score.points', { n: v }))));
      return el('div', { class: 'choice score' }, el('label', { for: id }, pick(c)), select);
    });
    const total = q.budget ? el('p', { id: `q${i}-total`, class: 'hint', 'aria-live': 'polite' }) : null;
    return [...rows, total].filter(Boolean);
  }
  if (isScale(q)) {
    return q.choices.map((c, j) => el('fieldset', { class: 'scale-item' },
      el('legend', {}, pick(c)),
      ...q.steps.map((s, k) => {
        const id = `q${i}-c${j}-s${k}`;
        const input = el('input', { type: 'radio', name: `q${i}-c${j}`, id, value: String(k), 'data-choice': String(j), checked: answer[j] === k });
        return el('label', { class: 'choice', for: id }, input, el('span', {}, pick(s)));
      })));
  }
  const single = q.min === 1 && q.max === 1;
  return q.choices.map((c, j) => {
    const id = `q${i}-c${j}`;
    const input = el('input', { type: single ? 'radio' : 'checkbox', name: `q${i}`, id, value: String(j), checked: answer.includes(j) });
    return el('label', { class: 'choice', for: id }, input, el('span', {}, pick(c)));
  });
}

/** The answer the inputs under `box` hold now. */
export function readAnswer(q, box) {
  if (isScore(q)) return [...box.querySelectorAll('select')].map((s) => Number(s.value));
  // Repeats are kept, so that answerError can name them.
  if (isRanked(q)) return [...box.querySelectorAll('select')].filter((s) => s.value !== '').map((s) => Number(s.value));
  if (isScale(q)) {
    const answer = q.choices.map(() => null);
    for (const x of box.querySelectorAll('input:checked')) answer[Number(x.dataset.choice)] = Number(x.value);
    return answer;
  }
  return [...box.querySelectorAll('input:checked')].map((x) => Number(x.value));
}

/**
 * What the inputs of question `i` show beside the answer: a score's running total (with a budget);
 * for a ranking, the ranks whose choice is ranked twice marked invalid.
 */
export function showAnswerState(q, i, answer) {
  if (isRanked(q)) {
    const selects = Array.from({ length: q.ranks }, (_, k) => document.getElementById(`q${i}-r${k}`)).filter(Boolean);
    const repeated = (s) => s.value !== '' && selects.some((o) => o !== s && o.value === s.value);
    for (const s of selects) {
      if (repeated(s)) s.setAttribute('aria-invalid', 'true');
      else s.removeAttribute('aria-invalid');
    }
    return;
  }
  const box = document.getElementById(`q${i}-total`);
  if (!box || !q.budget) return;
  const n = answer.reduce((s, v) => s + v, 0);
  box.textContent = t('vote.score.total', { n, budget: q.budget });
  box.classList.toggle('alert', n > q.budget);
}
