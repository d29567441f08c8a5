// minilm explorer, part 3 of 3: the page. `window.explore` exposes what the tests drive
// (tests/test_explore_browser.py) and `window.explore.ready`, ms from navigation to interactive.
const App = (() => {
  const data = JSON.parse(document.getElementById("explore-data").textContent);
  const tables = data.tables.map(Core.decodeTable);
  const $ = id => document.getElementById(id);
  const TOPN = 10, ANALOGY_TOPN = 5;
  const questions = new Map(data.analogies.map(([, a, b, c, d]) => [[a, b, c].join(" "), d]));

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function wordButton(word) {
    const b = el("button", "w", word);
    b.type = "button"; b.title = "neighbours of " + word;
    b.addEventListener("click", () => select(word));
    return b;
  }

  // <ol> of [word, score] rows; `mark(word)` returns extra classes ("query", "expected").
  function list(rows, mark) {
    const ol = el("ol", "nb");
    rows.forEach(([word, score], r) => {
      const li = el("li", mark ? mark(word) : "");
      li.dataset.word = word; li.dataset.score = String(score);
      const bar = el("span", "bar"), fill = el("b");
      fill.style.width = Math.max(0, Math.min(1, score)) * 100 + "%";
      bar.appendChild(fill);
      li.append(el("span", "r", String(r + 1)), wordButton(word), bar, el("span", "cos", score.toFixed(3)));
      ol.appendChild(li);
    });
    return ol;
  }

  function card(t) {
    const c = el("div", "card");
    c.dataset.table = t.name;
    c.appendChild(el("h3", "", t.label));
    return c;
  }

  function resolve(word) {
    word = word.trim();
    if (tables.some(t => t.index.has(word))) return word;
    const lower = word.toLowerCase();
    return tables.some(t => t.index.has(lower)) ? lower : null;
  }

  function select(raw) {
    const word = resolve(raw);
    $("word-input").value = raw.trim();
    if (word === null) { $("word-status").textContent = "'" + raw + "' is in no table"; return false; }
    $("word-status").textContent = "";
    $("nb-word").textContent = word;
    const out = $("neighbours"), near = {};
    out.textContent = "";
    for (const t of tables) {
      const c = card(t), a = t.index.get(word);
      if (a === undefined) { c.appendChild(el("p", "oov", "not in this table's vocabulary")); }
      else {
        const rows = Core.top(Core.cosinesOf(t, a), TOPN, new Set([a])).map(([i, s]) => [t.words[i], s]);
        near[t.name] = new Set(rows.map(r => r[0]));
        c.appendChild(list(rows));
      }
      out.appendChild(c);
    }
    Maps.highlight(word, near);
    document.querySelectorAll("#contextual .panel").forEach(p => p.classList.toggle("on", p.dataset.word === word));
    return true;
  }

  function protocol(t, scores, skip, title, q, expected) {
    const order = Core.ranking(scores, skip);
    const box = el("div", "proto");
    box.dataset.protocol = skip ? "excluded" : "kept";
    box.appendChild(el("h4", "", title));
    const rows = order.slice(0, ANALOGY_TOPN).map(i => [t.words[i], scores[i]]);
    box.appendChild(list(rows, w => (q.has(w) ? "query" : "") + (w === expected ? " expected" : "")));
    const p = el("p", "ranks"), rankOf = w => order.indexOf(t.index.get(w)) + 1;
    if (expected && t.index.has(expected)) {
      const r = rankOf(expected);
      p.dataset.expectedRank = String(r);
      p.append("expected '" + expected + "': ", el("b", "", "rank " + r));
    }
    if (!skip) {
      const ranks = [...q].map(w => [w, rankOf(w)]);
      p.dataset.queryRanks = JSON.stringify(Object.fromEntries(ranks));
      p.append(el("br"), "query words: " + ranks.map(([w, r]) => w + " " + r).join(", "));
    }
    box.appendChild(p);
    return box;
  }

  function analogy(expression, expected) {
    const { pos, neg } = Core.parseExpression(expression);
    $("analogy-input").value = expression;
    if (!pos.length) { $("analogy-status").textContent = "give at least one word with a + sign"; return false; }
    if (expected === undefined || expected === null) expected = (pos.length === 2 && neg.length === 1 && questions.get([neg[0], pos[0], pos[1]].join(" "))) || "";
    expected = expected.trim().toLowerCase();
    $("analogy-expected").value = expected;
    $("analogy-status").textContent = "";
    const out = $("analogy");
    out.textContent = "";
    const q = new Set([...pos, ...neg]);
    for (const t of tables) {
      const c = card(t), missing = [...q].filter(w => !t.index.has(w));
      if (missing.length) { c.appendChild(el("p", "oov", "not in this table: " + missing.join(", "))); out.appendChild(c); continue; }
      const ids = ws => ws.map(w => t.index.get(w));
      const scores = Core.analogyScores(t, ids(pos), ids(neg));
      const both = el("div", "protocols");
      both.append(protocol(t, scores, new Set(ids([...q])), "query words excluded", q, expected),
                  protocol(t, scores, null, "query words kept", q, expected));
      c.appendChild(both);
      out.appendChild(c);
    }
    return true;
  }

  function examples() {
    const seen = new Set(), box = $("analogy-examples");
    for (const [section, a, b, c, d] of data.analogies) {
      if (seen.has(section) || seen.size >= 10) continue;
      seen.add(section);
      const chip = el("button", "", b + " − " + a + " + " + c);
      chip.type = "button"; chip.title = section + ": " + a + " : " + b + " :: " + c + " : " + d;
      chip.addEventListener("click", () => analogy(b + " - " + a + " + " + c, d));
      box.appendChild(chip);
    }
  }

  function methods() {
    const names = Object.keys(data.maps), box = $("method-toggle");
    if (!names.length) { $("maps-section").hidden = true; return; }
    const show = m => {
      box.querySelectorAll("button").forEach(b => b.classList.toggle("on", b.dataset.method === m));
      Maps.build($("maps"), $("legend"), data.maps[m], select);
      const w = $("nb-word").textContent;
      if (w) select(w);
    };
    names.forEach(m => {
      const b = el("button", "", m === "tsne" ? "t-SNE" : m.toUpperCase());
      b.type = "button"; b.dataset.method = m; b.addEventListener("click", () => show(m));
      box.appendChild(b);
    });
    show(names[0]);
  }

  return { data, tables, el, list, select, analogy, examples, methods, $ };
})();
