'use strict';
// An SVG chart of the ratio figures: one row each, the median as a bar on a
// log scale centred on 1×, the min–max range as a whisker, the goal as a mark.
// Green when the median meets its goal, orange when not, grey without one.

const ROW = 26;
const LABEL = 560;
const PLOT = 420;
const TICKS = [0.125, 0.25, 0.5, 1, 2, 4, 8, 16];

function escape(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function meets(goal, value) {
  return goal.op === '<=' ? value <= goal.value : value >= goal.value;
}

function chart(figures, heading) {
  const ratios = figures.filter((figure) => figure.unit === '×' && figure.median > 0);
  const lowest = Math.min(0.125, ...ratios.map((figure) => figure.min));
  const highest = Math.max(16, ...ratios.map((figure) => figure.max));
  const x = (value) => LABEL + (Math.log(value / lowest) / Math.log(highest / lowest)) * PLOT;
  const height = 60 + ratios.length * ROW + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL + PLOT + 40}" height="${height}" font-family="sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="10" y="22" font-size="15" font-weight="bold">${escape(heading)}</text>`,
  ];
  for (const tick of TICKS.filter((value) => value >= lowest && value <= highest)) {
    parts.push(
      `<line x1="${x(tick)}" y1="40" x2="${x(tick)}" y2="${height - 30}" stroke="${tick === 1 ? '#444' : '#ddd'}"/>`,
      `<text x="${x(tick)}" y="${height - 12}" text-anchor="middle">${tick}×</text>`,
    );
  }
  ratios.forEach((figure, row) => {
    const y = 50 + row * ROW;
    const colour = !figure.goal ? '#8a8a8a' : meets(figure.goal, figure.median) ? '#2e9d4f' : '#e07b24';
    const base = x(1);
    const end = x(figure.median);
    parts.push(
      `<text x="${LABEL - 8}" y="${y + 13}" text-anchor="end">${escape(figure.title)}</text>`,
      `<rect x="${Math.min(base, end)}" y="${y + 3}" width="${Math.max(1, Math.abs(end - base))}" height="14" fill="${colour}"/>`,
      `<line x1="${x(figure.min)}" y1="${y + 10}" x2="${x(figure.max)}" y2="${y + 10}" stroke="black"/>`,
      `<text x="${Math.max(base, end) + 4}" y="${y + 14}" font-size="11">${figure.median.toFixed(2)}×</text>`,
    );
    if (figure.goal) {
      parts.push(`<line x1="${x(figure.goal.value)}" y1="${y}" x2="${x(figure.goal.value)}" y2="${y + 20}" stroke="black" stroke-width="2" stroke-dasharray="3,2"/>`);
    }
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

module.exports = { chart, meets };
