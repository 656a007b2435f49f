'use strict';
// Side-by-side measurement on a noisy machine: every repetition runs each
// contender once, in a shuffled order, on the same pages; figures are the
// median of per-repetition values with their range, and ratios are taken
// within a repetition so that drift of the machine cancels out.

function shuffled(items) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

function summary(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], samples: sorted.length };
}

/**
 * Runs `repetitions` rounds of every contender (name → async () => ns) and
 * returns name → array of ns, one per round.
 */
async function interleaved(repetitions, contenders) {
  const samples = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
  for (let round = 0; round < repetitions; round++) {
    for (const name of shuffled(Object.keys(contenders))) samples[name].push(await contenders[name]());
  }
  return samples;
}

/** Per-round ratio numerator[i] / denominator[i], summarised. */
function ratio(numerator, denominator) {
  return summary(numerator.map((value, i) => value / denominator[i]));
}

/** Wall time of fn in ns (awaited when it returns a promise). */
async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start);
}

module.exports = { interleaved, ratio, summary, timed };
