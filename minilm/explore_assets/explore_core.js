"use strict";
// Errors are kept for the browser test (tests/test_explore_browser.py), which wants none.
window.exploreErrors = [];
window.addEventListener("error", e => window.exploreErrors.push(String(e.message)));
// minilm explorer, part 1 of 3: the data and the arithmetic (no DOM here).
// Vectors arrive as int16 rows q_i with one float32 scale s_i per row: u_i ~ s_i q_i
// (minilm/explore.py). Integer dot products are exact in float64, so the page's cosines equal
// the Python replica in minilm/explore.py bit for bit, and minilm.vectors' within `bound`.
const Core = (() => {
  function bytes(b64) {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function decodeTable(t) {
    const q = new Int16Array(bytes(t.q).buffer);
    const s = new Float32Array(bytes(t.s).buffer);
    const index = new Map();
    t.words.forEach((w, i) => index.set(w, i));
    return { name: t.name, label: t.label, dim: t.dim, words: t.words, q, s, index,
             trust: t.trust, bound: t.bound };
  }

  // cos(a, b) ~ s_a s_b (q_a . q_b) for every b: the neighbours' scores.
  function cosinesOf(t, a) {
    const D = t.dim, n = t.words.length, q = t.q, out = new Float64Array(n);
    const base = a * D;
    for (let b = 0; b < n; b++) {
      let dot = 0;
      const row = b * D;
      for (let k = 0; k < D; k++) dot += q[base + k] * q[row + k];
      out[b] = (t.s[a] * t.s[b]) * dot;
    }
    return out;
  }

  // 3CosAdd as KeyedVectors.most_similar: x = sum s_p q_p - sum s_m q_m, scores = cos(x, u_d).
  function analogyScores(t, pos, neg) {
    const D = t.dim, n = t.words.length, q = t.q, x = new Float64Array(D);
    const add = (i, sign) => { for (let k = 0; k < D; k++) x[k] += sign * t.s[i] * q[i * D + k]; };
    pos.forEach(i => add(i, 1));
    neg.forEach(i => add(i, -1));
    let norm = 0;
    for (let k = 0; k < D; k++) norm += x[k] * x[k];
    norm = Math.sqrt(norm) || 1;
    const out = new Float64Array(n);
    for (let b = 0; b < n; b++) {
      let dot = 0;
      const row = b * D;
      for (let k = 0; k < D; k++) dot += x[k] * q[row + k];
      out[b] = (t.s[b] * dot) / norm;
    }
    return out;
  }

  // Row ids by falling score, ties to the lower row (as minilm's stable argsort); `skip` left out.
  function ranking(scores, skip) {
    const ids = [];
    for (let i = 0; i < scores.length; i++) if (!skip || !skip.has(i)) ids.push(i);
    ids.sort((a, b) => (scores[b] - scores[a]) || (a - b));
    return ids;
  }

  function top(scores, n, skip) {
    return ranking(scores, skip).slice(0, n).map(i => [i, scores[i]]);
  }

  // `king - man + woman` (or `king -man +woman`) -> {pos: [king, woman], neg: [man]}.
  function parseExpression(text) {
    const pos = [], neg = [];
    let sign = 1;  // as scripts/analogy.py: a word without a sign counts as +
    for (let tok of text.toLowerCase().split(/\s+/).filter(Boolean)) {
      if (tok === "+" || tok === "-") { sign = tok === "+" ? 1 : -1; continue; }
      if ((tok[0] === "+" || tok[0] === "-") && tok.length > 1) {
        sign = tok[0] === "+" ? 1 : -1;
        tok = tok.slice(1);
      }
      (sign > 0 ? pos : neg).push(tok);
      sign = 1;
    }
    return { pos, neg };
  }

  return { decodeTable, cosinesOf, analogyScores, ranking, top, parseExpression };
})();
