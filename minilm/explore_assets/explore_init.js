// minilm explorer: the contextual occurrences, the report's tables, and start-up.
const Extras = (() => {
  const { data, el, $ } = App;
  const SENSE = ["#d4570f", "#3457d5"];

  function senseCard(word, w) {
    const card = el("div", "panel");
    card.dataset.word = word;
    const acc = w.accuracy === null || w.accuracy === undefined ? "" :
      " · sense accuracy " + w.accuracy.toFixed(2) +
      (w.static_accuracy === null || w.static_accuracy === undefined ? "" : " (static " + w.static_accuracy.toFixed(2) + ")");
    card.appendChild(el("h3", "", "'" + word + "': " + (w.side * 100).toFixed(0) + "% of " +
      w.sense.length + " " + w.split + " occurrences on their sense's side" + acc));
    const key = el("div", "legend");
    w.senses.forEach((s, i) => { const sp = el("span"), dot = el("i"); dot.style.background = SENSE[i]; sp.append(dot, s); key.appendChild(sp); });
    const star = el("span", "", "★ the one static vector"); key.appendChild(star);
    const canvas = el("canvas");
    card.append(key, canvas);
    return [card, canvas];
  }

  function drawSenses(canvas, w) {
    const dpr = window.devicePixelRatio || 1, W = canvas.clientWidth, H = canvas.clientHeight;
    canvas.width = W * dpr; canvas.height = H * dpr;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const pts = Maps.normalise(w.xy.concat(w.star)), n = w.sense.length, base = Math.min(W, H) / 2 - 14;
    const at = i => [W / 2 + pts[2 * i] * base, H / 2 - pts[2 * i + 1] * base];
    // x = 0 of the sense axis (the nearest-centroid boundary), after the same centring
    let mx = 0; for (let i = 0; i <= n; i++) mx += w.xy.concat(w.star)[2 * i] / (n + 1);
    const r = Math.max(...w.xy.concat(w.star).map((v, i) => Math.abs(v - (i % 2 ? 0 : mx))));
    ctx.strokeStyle = "#8a8f99"; ctx.setLineDash([4, 4]);
    const x0 = W / 2 + (-mx / (r || 1)) * base;
    ctx.beginPath(); ctx.moveTo(x0, 4); ctx.lineTo(x0, H - 4); ctx.stroke(); ctx.setLineDash([]);
    ctx.globalAlpha = 0.7;
    for (let i = 0; i < n; i++) { const [x, y] = at(i); ctx.fillStyle = SENSE[w.sense[i]]; ctx.beginPath(); ctx.arc(x, y, 3.4, 0, 2 * Math.PI); ctx.fill(); }
    ctx.globalAlpha = 1;
    const [sx, sy] = at(n);
    ctx.font = "20px system-ui, sans-serif"; ctx.fillStyle = "#1d2330"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
    ctx.fillText("★", sx, sy);
    return at;
  }

  function contextual() {
    const ctx = data.contextual;
    if (!ctx || !Object.keys(ctx.words).length) return;
    $("contextual-section").hidden = false;
    const first = Object.values(ctx.words)[0];
    $("contextual-hint").textContent = ctx.label + " (" + first.representation + "): each dot is one occurrence, on the axis between the word's two sense centroids (x) and the largest remaining variance (y); dashed: the nearest-centroid boundary. Hover a dot for its sense.";
    for (const [word, w] of Object.entries(ctx.words)) {
      const [card, canvas] = senseCard(word, w);
      $("contextual").appendChild(card);
      const at = drawSenses(canvas, w), tip = $("tooltip");
      canvas.addEventListener("mousemove", ev => {
        const rect = canvas.getBoundingClientRect(), mx = ev.clientX - rect.left, my = ev.clientY - rect.top;
        let best = -1, bd = 49;
        for (let i = 0; i < w.sense.length; i++) { const [x, y] = at(i), d = (x - mx) ** 2 + (y - my) ** 2; if (d < bd) { bd = d; best = i; } }
        tip.hidden = best < 0;
        if (best >= 0) { tip.textContent = word + " (" + w.senses[w.sense[best]] + ")"; tip.style.left = ev.clientX + 12 + "px"; tip.style.top = ev.clientY + 10 + "px"; }
      });
      canvas.addEventListener("mouseleave", () => { tip.hidden = true; });
      canvas.addEventListener("click", () => App.select(word));
    }
  }

  function tables() {
    if (!data.report.length) return;
    $("tables-section").hidden = false;
    for (const t of data.report) {
      if (t.title) $("tables").appendChild(el("h3", "", t.title));
      const table = el("table", "report"), head = el("tr");
      t.header.forEach(h => head.appendChild(el("th", "", h)));
      table.appendChild(head);
      for (const row of t.rows) { const tr = el("tr"); row.forEach(c => tr.appendChild(el("td", "", c))); table.appendChild(tr); }
      $("tables").appendChild(table);
    }
  }

  function header() {
    const t = App.tables, bound = Math.max(...t.map(x => x.bound));
    $("title").textContent = data.title;
    document.title = data.title;
    const sizes = [...new Set(t.map(x => x.words.length))];
    $("subtitle").textContent = t.length + " tables · " + sizes.join(" / ") + " words each · " +
      "cosines computed here from 16-bit vectors, within ±" + bound.toPrecision(2) + " of minilm.vectors";
    const list = $("word-list");
    t[0].words.slice(0, 3000).forEach(w => { const o = el("option"); o.value = w; list.appendChild(o); });
    $("word-form").addEventListener("submit", ev => { ev.preventDefault(); App.select($("word-input").value); });
    $("analogy-form").addEventListener("submit", ev => { ev.preventDefault(); App.analogy($("analogy-input").value, $("analogy-expected").value); });
    $("analogy-input").addEventListener("input", () => { $("analogy-expected").value = ""; });
    if (data.notes.length) { $("notes-section").hidden = false; data.notes.forEach(n => $("notes").appendChild(el("li", "", n))); }
  }

  function start() {
    header();
    App.methods();
    App.examples();
    const a = data.analogies[0], t0 = App.tables[0];
    App.select(a && t0.index.has(a[2]) ? a[2] : t0.words[0]);
    if (a) App.analogy(a[2] + " - " + a[1] + " + " + a[3], a[4]);
    contextual();
    tables();
    window.explore = { ready: performance.now(), select: App.select, analogy: App.analogy,
                       pointAt: Maps.pointAt, view: Maps.view };
  }

  return { start };
})();
Extras.start();
