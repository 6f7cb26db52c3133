// Accessible charts: an SVG drawn from numbers (role=img with a text summary) beside a data table
// that carries the same numbers for screen readers and copy-paste.
import { el, num, pick, t } from './common.js';

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const percent = (part, whole) => (whole ? `${((100 * part) / whole).toFixed(1)}%` : '–');

/**
 * A published election's result: the turnout it rests on, then per question its title, what the
 * decision rule makes of it (when the manifest sets one) and the counts.
 */
export function resultFigures(election) {
  const out = [];
  const turnout = election.turnout;
  if (turnout) {
    out.push(el('p', { class: 'turnout' }, t('result.turnout', {
      voted: num(turnout.voted), eligible: num(turnout.eligible), percent: percent(turnout.voted, turnout.eligible),
    })));
  }
  election.questions.forEach((q, i) => {
    const voted = turnout ? turnout.voted : election.counted;
    if (q.kind === 'score') out.push(scoreFigure(q, election.result[i], voted));
    else if (q.kind === 'scale') out.push(scaleFigure(q, election.result[i]));
    else if (q.kind === 'ranked') out.push(rankedFigure(q, election.result[i], (election.outcomes || [])[i], (election.ranked || [])[i]));
    else out.push(resultFigure(q, election.result[i], (election.outcomes || [])[i]));
  });
  return out;
}

/** What a question's decision rule made of its result, as a sentence (null without a rule). */
function outcomeText(question, outcome) {
  // A count that elects (a ranking's) needs no decision rule.
  if (outcome?.outcome === 'elected') return t('result.elected', { choice: pick(question.choices[outcome.choice]) });
  const rule = question.decision;
  if (!rule || !outcome || outcome.outcome === 'no-rule') return null;
  const vars = { num: rule.num, den: rule.den };
  switch (outcome.outcome) {
    case 'decided': return t('result.decided', { choice: pick(question.choices[outcome.choice]) });
    case 'turnout-too-low': return t('result.turnout-too-low', vars);
    default: return t('result.no-majority');
  }
}

/** Horizontal bars of `values` labelled with `labels`, and `summary` for screen readers. */
function bars(labels, values, summary, show = num) {
  const max = Math.max(1, ...values);
  const rowH = 34;
  const width = 560;
  const labelW = 200;
  const chart = svg('svg', {
    class: 'chart',
    viewBox: `0 0 ${width} ${rowH * values.length + 10}`,
    role: 'img',
    'aria-label': summary,
  });
  values.forEach((n, j) => {
    const y = 5 + j * rowH;
    const w = Math.round(((width - labelW - 90) * n) / max);
    chart.append(svg('text', { x: 0, y: y + 20 }, labels[j].slice(0, 22)));
    chart.append(svg('rect', { x: labelW, y: y + 4, width: Math.max(w, 2), height: 22, fill: '#0b4f9c' }));
    chart.append(svg('text', { x: labelW + Math.max(w, 2) + 8, y: y + 20 }, show(n)));
  });
  return chart;
}

const average = (sum, n) => (n ? (sum / n).toFixed(2) : '–');

/** A score question's result: points and average points per choice. */
function scoreFigure(question, points, voted) {
  const labels = question.choices.map(pick);
  const summary = `${pick(question.title)}: ${labels.map((l, j) => `${l} ${num(points[j])}`).join(', ')}`;
  const table = el('table', {},
    el('caption', {}, pick(question.title)),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, t('chart.choice')),
      el('th', { scope: 'col', class: 'n' }, t('chart.points')),
      el('th', { scope: 'col', class: 'n' }, t('chart.average')))),
    el('tbody', {}, ...points.map((n, j) => el('tr', {},
      el('th', { scope: 'row' }, labels[j]),
      el('td', { class: 'n' }, num(n)),
      el('td', { class: 'n' }, average(n, voted))))));
  return el('figure', {},
    el('figcaption', {}, el('h3', {}, pick(question.title))),
    el('p', { class: 'hint' }, t('result.score', { max: question.max_score })),
    bars(labels, points, summary), table);
}

/** A scale question's result: per item, how many chose each step, and the average step. */
function scaleFigure(question, cells) {
  const steps = question.steps.length;
  const rows = question.choices.map((_, j) => cells.slice(j * steps, (j + 1) * steps));
  const means = rows.map((row) => {
    const n = row.reduce((a, b) => a + b, 0);
    return n ? row.reduce((a, c, k) => a + (k + 1) * c, 0) / n : 0;
  });
  const labels = question.choices.map(pick);
  const summary = `${pick(question.title)}: ${labels.map((l, j) => `${l} ${means[j].toFixed(2)}`).join(', ')}`;
  const table = el('table', {},
    el('caption', {}, pick(question.title)),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, t('chart.item')),
      ...question.steps.map((s, k) => el('th', { scope: 'col', class: 'n' }, `${k + 1}. ${pick(s)}`)),
      el('th', { scope: 'col', class: 'n' }, t('chart.average-step', { n: steps })))),
    el('tbody', {}, ...rows.map((row, j) => el('tr', {},
      el('th', { scope: 'row' }, labels[j]),
      ...row.map((n) => el('td', { class: 'n' }, num(n))),
      el('td', { class: 'n' }, means[j].toFixed(2))))));
  return el('figure', {},
    el('figcaption', {}, el('h3', {}, pick(question.title))),
    el('p', { class: 'hint' }, t('result.scale', { n: steps })),
    bars(labels, means, summary, (m) => m.toFixed(2)), el('div', { class: 'table-scroll' }, table));
}

/** A wide table in a box that scrolls on a phone: focusable and named, so a keyboard can scroll it. */
const scrolling = (table, label) => el('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': label }, table);

/**
 * A ranked question's result: who the count elects (or the tie), how it counts, the first
 * preferences, the votes at every rank, and the count itself: the rounds of an instant-runoff or
 * the pairwise comparisons of a Schulze count. `cells` is rank-major (cell k·n + c: ballots
 * putting choice c at rank k+1); `ranked` is the count (absent before it is published).
 */
function rankedFigure(question, cells, outcome, ranked) {
  const n = question.choices.length;
  const ranks = Math.floor(cells.length / n);
  const labels = question.choices.map(pick);
  const title = pick(question.title);
  const first = cells.slice(0, n);
  const winners = ranked?.winners ?? [];
  const elected = outcome?.outcome === 'elected';
  let verdict = null;
  if (elected) verdict = outcomeText(question, outcome);
  else if (winners.length > 1) verdict = t('result.ranked.tie', { choices: winners.map((j) => labels[j]).join(', ') });
  else if (outcome) verdict = t('result.ranked.no-winner');
  const method = ranked?.method ?? question.method;
  const rankHeads = Array.from({ length: ranks }, (_, k) => el('th', { scope: 'col', class: 'n' }, t('vote.ranked.rank', { n: k + 1 })));
  const byRank = el('table', {},
    el('caption', {}, t('chart.ranked.by-rank', { title })),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('chart.choice')), ...rankHeads)),
    el('tbody', {}, ...labels.map((l, j) => el('tr', {},
      el('th', { scope: 'row' }, l),
      ...Array.from({ length: ranks }, (_, k) => el('td', { class: 'n' }, num(cells[k * n + j])))))));
  const firstSummary = `${title}, ${t('chart.first-preferences')}: ${labels.map((l, j) => `${l} ${num(first[j])}`).join(', ')}`;
  return el('figure', {},
    el('figcaption', {}, el('h3', {}, title)),
    verdict ? el('p', { class: elected ? 'outcome decided' : 'outcome' }, verdict) : null,
    method ? el('p', { class: 'hint' }, t(`result.ranked.${method}`)) : null,
    ranked ? el('p', { class: 'hint' }, t('result.ranked.ballots', { n: num(ranked.ballots) })) : null,
    el('h4', {}, t('chart.first-preferences')),
    bars(labels, first, firstSummary),
    scrolling(byRank, t('chart.ranked.by-rank', { title })),
    ...(ranked?.rounds?.length ? roundsFigure(title, labels, ranked.rounds) : []),
    ...(ranked?.pairwise?.length ? pairwiseFigure(title, labels, ranked.pairwise) : []));
}

/**
 * An instant-runoff count round by round: a column per round, a row per choice and one for the
 * exhausted ballots; the eliminated and the elected choice marked in words (not only by colour),
 * and how each tie for fewest votes was broken.
 */
function roundsFigure(title, labels, rounds) {
  // The round each choice left the count after (its later cells are empty).
  const outAfter = new Map();
  rounds.forEach((r, k) => { if (r.eliminated !== null && r.eliminated !== undefined) outAfter.set(r.eliminated, k); });
  const cell = (r, k, j) => {
    if (outAfter.has(j) && outAfter.get(j) < k) return el('td', { class: 'n' }, '–');
    const mark = r.elected === j ? t('chart.ranked.elected') : r.eliminated === j ? t('chart.ranked.eliminated') : null;
    return el('td', { class: 'n' }, num(r.votes[j]), mark ? ' ' : null, mark ? el('strong', {}, `(${mark})`) : null);
  };
  const caption = t('chart.ranked.rounds', { title });
  const table = el('table', {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, t('chart.choice')),
      ...rounds.map((_, k) => el('th', { scope: 'col', class: 'n' }, t('chart.ranked.round', { n: k + 1 }))))),
    el('tbody', {},
      ...labels.map((l, j) => el('tr', {}, el('th', { scope: 'row' }, l), ...rounds.map((r, k) => cell(r, k, j)))),
      el('tr', {}, el('th', { scope: 'row' }, t('chart.ranked.exhausted')), ...rounds.map((r) => el('td', { class: 'n' }, num(r.exhausted))))));
  // A tie for fewest votes is broken by the latest earlier round that tells the tied apart, else by lot.
  const ties = rounds.flatMap((r, k) => {
    if (!r.tie_break || r.eliminated === null || r.eliminated === undefined) return [];
    const vars = { round: k + 1, choice: labels[r.eliminated] };
    return [el('li', {}, r.tie_break === 'lot'
      ? t('result.ranked.tie-lot', vars)
      : t('result.ranked.tie-earlier', { ...vars, earlier: r.tie_break['earlier-round'] + 1 }))];
  });
  return [scrolling(table, caption), ties.length ? el('ul', { class: 'hint' }, ...ties) : null];
}

/** A Schulze count's pairwise comparisons: cell (i, j) is the ballots ranking i above j. */
function pairwiseFigure(title, labels, d) {
  const caption = t('chart.ranked.pairwise', { title });
  const table = el('table', {},
    el('caption', {}, caption),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, t('chart.choice')),
      ...labels.map((l) => el('th', { scope: 'col', class: 'n' }, l)))),
    el('tbody', {}, ...labels.map((l, i) => el('tr', {},
      el('th', { scope: 'row' }, l),
      ...labels.map((_, j) => el('td', { class: 'n' }, i === j ? '–'
        : d[i][j] > d[j][i] ? el('strong', {}, num(d[i][j])) : num(d[i][j])))))));
  return [el('p', { class: 'hint' }, t('result.ranked.pairwise-hint')), scrolling(table, caption)];
}

/** One question's result: its title, its outcome, horizontal bars and a table. */
export function resultFigure(question, counts, outcome) {
  const total = counts.reduce((a, b) => a + b, 0);
  const labels = question.choices.map(pick);
  const chart = bars(labels, counts, `${pick(question.title)}: ${labels.map((l, j) => `${l} ${num(counts[j])}`).join(', ')}`);
  const table = el('table', {},
    el('caption', {}, pick(question.title)),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, t('chart.choice')),
      el('th', { scope: 'col', class: 'n' }, t('chart.votes')),
      el('th', { scope: 'col', class: 'n' }, t('chart.share')))),
    el('tbody', {}, ...counts.map((n, j) => el('tr', {},
      el('th', { scope: 'row' }, pick(question.choices[j])),
      el('td', { class: 'n' }, num(n)),
      el('td', { class: 'n' }, percent(n, total))))));
  const decided = outcomeText(question, outcome);
  const rule = question.decision;
  return el('figure', {},
    el('figcaption', {}, el('h3', {}, pick(question.title))),
    decided ? el('p', { class: outcome.outcome === 'decided' ? 'outcome decided' : 'outcome' }, decided) : null,
    rule ? el('p', { class: 'hint' }, t('result.rule', { num: rule.num, den: rule.den })) : null,
    chart, table);
}

/** Turnout over time: a line of ballots against minutes. `series` is [[unix seconds, ballots]]. */
export function turnoutFigure(series) {
  const width = 560;
  const height = 200;
  const pad = 40;
  const chart = svg('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img' });
  const last = series[series.length - 1] || [0, 0];
  chart.setAttribute('aria-label', t('chart.turnout-summary', { n: num(last[1]), points: series.length }));
  chart.append(svg('line', { class: 'axis', x1: pad, y1: height - pad, x2: width - 10, y2: height - pad }));
  chart.append(svg('line', { class: 'axis', x1: pad, y1: 10, x2: pad, y2: height - pad }));
  if (series.length) {
    const t0 = series[0][0];
    const t1 = Math.max(t0 + 60, last[0]);
    const max = Math.max(1, ...series.map((p) => p[1]));
    const x = (s) => pad + ((width - pad - 10) * (s - t0)) / (t1 - t0);
    const y = (n) => height - pad - ((height - pad - 10) * n) / max;
    const points = series.map(([s, n]) => `${x(s).toFixed(1)},${y(n).toFixed(1)}`);
    if (points.length === 1) points.push(`${(width - 10).toFixed(1)},${y(last[1]).toFixed(1)}`);
    chart.append(svg('polyline', { class: 'line', points: points.join(' ') }));
    chart.append(svg('text', { x: 4, y: 20 }, num(max)));
    chart.append(svg('text', { x: 4, y: height - pad }, '0'));
    const fmt = (s) => new Date(s * 1000).toTimeString().slice(0, 5);
    chart.append(svg('text', { x: pad, y: height - pad + 18 }, fmt(t0)));
    chart.append(svg('text', { x: width - 50, y: height - pad + 18 }, fmt(last[0])));
  }
  return el('figure', {}, chart);
}
