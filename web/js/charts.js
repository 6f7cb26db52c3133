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
    else out.push(resultFigure(q, election.result[i], (election.outcomes || [])[i]));
  });
  return out;
}

/** What a question's decision rule made of its result, as a sentence (null without a rule). */
function outcomeText(question, outcome) {
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
