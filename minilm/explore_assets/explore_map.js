// minilm explorer, part 2 of 3: the scatter maps (canvas), one per table, zoomed and panned
// together. Each map is centred and scaled to [-1, 1]; `view` is shared by all of them.
const Maps = (() => {
  const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
    "#ff9da7", "#9c755f", "#8a8f99", "#1f3b73", "#a05d0f", "#8c1d2f", "#2f7f78", "#2b6b2a",
    "#b59a17", "#6a3d7c", "#d35f8d", "#5b3d29", "#17becf", "#bcbd22", "#393b79"];
  const view = { k: 1, x: 0, y: 0 };
  const panels = [];
  const state = { selected: null, neighbours: {}, hover: null, onSelect: null };
  const tooltip = () => document.getElementById("tooltip");

  function colourOf(categories) {
    const names = [...new Set(categories)];
    const colour = new Map(names.map((c, i) => [c, PALETTE[i % PALETTE.length]]));
    return { names, colour };
  }

  function normalise(xy) {
    const n = xy.length / 2, pts = new Float64Array(xy.length);
    let mx = 0, my = 0, r = 1e-12;
    for (let i = 0; i < n; i++) { mx += xy[2 * i] / n; my += xy[2 * i + 1] / n; }
    for (let i = 0; i < n; i++) {
      pts[2 * i] = xy[2 * i] - mx; pts[2 * i + 1] = xy[2 * i + 1] - my;
      r = Math.max(r, Math.abs(pts[2 * i]), Math.abs(pts[2 * i + 1]));
    }
    for (let i = 0; i < pts.length; i++) pts[i] /= r;
    return pts;
  }

  function geometry(p) {
    const w = p.canvas.clientWidth, h = p.canvas.clientHeight;
    return { w, h, base: Math.min(w, h) / 2 - 14 };
  }

  function screen(p, g, i) {
    return [g.w / 2 + (p.pts[2 * i] * view.k + view.x) * g.base,
            g.h / 2 - (p.pts[2 * i + 1] * view.k + view.y) * g.base];
  }

  function resize(p) {
    const dpr = window.devicePixelRatio || 1;
    p.canvas.width = Math.round(p.canvas.clientWidth * dpr);
    p.canvas.height = Math.round(p.canvas.clientHeight * dpr);
    p.ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  }

  function label(ctx, text, x, y, bold) {
    ctx.font = (bold ? "bold 12px " : "11px ") + "system-ui, sans-serif";
    ctx.lineWidth = 3; ctx.strokeStyle = "rgba(255,255,255,.9)";
    ctx.strokeText(text, x + 6, y - 5);
    ctx.fillStyle = bold ? "#1d2330" : "#3b4252";
    ctx.fillText(text, x + 6, y - 5);
  }

  function draw(p) {
    const g = geometry(p), ctx = p.ctx, n = p.words.length;
    ctx.clearRect(0, 0, g.w, g.h);
    const near = state.neighbours[p.table] || new Set();
    const dim = state.selected !== null;
    for (let i = 0; i < n; i++) {
      const [x, y] = screen(p, g, i);
      if (x < -5 || y < -5 || x > g.w + 5 || y > g.h + 5) continue;
      ctx.globalAlpha = dim && !near.has(p.words[i]) && p.words[i] !== state.selected ? 0.35 : 0.9;
      ctx.fillStyle = p.colour(i);
      ctx.beginPath(); ctx.arc(x, y, 3.6, 0, 2 * Math.PI); ctx.fill();
    }
    ctx.globalAlpha = 1;
    for (let i = 0; i < n; i++) {
      const w = p.words[i], [x, y] = screen(p, g, i);
      const mark = w === state.selected || w === state.hover || near.has(w);
      if (mark) {
        ctx.strokeStyle = w === state.selected ? "#1d2330" : "#3457d5";
        ctx.lineWidth = w === state.selected ? 2.2 : 1.3;
        ctx.beginPath(); ctx.arc(x, y, w === state.selected ? 7 : 5.5, 0, 2 * Math.PI); ctx.stroke();
      }
      if (mark || view.k >= 2.5) label(ctx, w, x, y, w === state.selected || w === state.hover);
    }
  }

  function drawAll() { panels.forEach(draw); }

  function hit(p, mx, my) {
    const g = geometry(p);
    let best = -1, bestD = 64;
    for (let i = 0; i < p.words.length; i++) {
      const [x, y] = screen(p, g, i), d = (x - mx) ** 2 + (y - my) ** 2;
      if (d < bestD) { best = i; bestD = d; }
    }
    return best;
  }

  function zoom(p, mx, my, factor) {
    const g = geometry(p);
    const sx = (mx - g.w / 2) / g.base, sy = (g.h / 2 - my) / g.base;
    const nx = (sx - view.x) / view.k, ny = (sy - view.y) / view.k;
    view.k = Math.min(60, Math.max(0.5, view.k * factor));
    view.x = sx - nx * view.k; view.y = sy - ny * view.k;
    drawAll();
  }

  function showTip(p, i, ev) {
    const tip = tooltip();
    if (i < 0) { tip.hidden = true; return; }
    tip.textContent = p.words[i] + (p.categories ? "  ·  " + p.categories[i] : "");
    tip.style.left = (ev.clientX + 12) + "px"; tip.style.top = (ev.clientY + 10) + "px";
    tip.hidden = false;
  }

  function attach(p) {
    const c = p.canvas;
    let drag = null;
    const pos = ev => { const r = c.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
    c.addEventListener("wheel", ev => { ev.preventDefault(); const [x, y] = pos(ev); zoom(p, x, y, Math.exp(-ev.deltaY * 0.0015)); }, { passive: false });
    c.addEventListener("pointerdown", ev => { drag = { x: ev.clientX, y: ev.clientY, moved: 0 }; c.setPointerCapture(ev.pointerId); });
    c.addEventListener("pointermove", ev => {
      const [x, y] = pos(ev);
      if (drag) {
        const g = geometry(p), dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
        drag.moved += Math.abs(dx) + Math.abs(dy); drag.x = ev.clientX; drag.y = ev.clientY;
        view.x += dx / g.base; view.y -= dy / g.base;
        if (drag.moved > 3) { c.classList.add("dragging"); drawAll(); }
        return;
      }
      const i = hit(p, x, y), w = i < 0 ? null : p.words[i];
      showTip(p, i, ev);
      if (w !== state.hover) { state.hover = w; drawAll(); }
    });
    c.addEventListener("pointerup", ev => {
      c.classList.remove("dragging");
      const click = drag && drag.moved <= 3;
      drag = null;
      if (!click) return;
      const [x, y] = pos(ev), i = hit(p, x, y);
      if (i >= 0 && state.onSelect) state.onSelect(p.words[i]);
    });
    c.addEventListener("mouseleave", () => { tooltip().hidden = true; state.hover = null; drawAll(); });
    c.addEventListener("dblclick", () => { view.k = 1; view.x = 0; view.y = 0; drawAll(); });
  }

  // One panel: a card with a title and a canvas. `colour(i)` gives point i's colour.
  function panel(container, title, trust, words, xy, colour, categories, table) {
    const card = document.createElement("div");
    card.className = "panel";
    card.dataset.table = table;
    const h = document.createElement("h3");
    h.textContent = title;
    if (trust !== null && trust !== undefined) {
      const t = document.createElement("span");
      t.className = "trust"; t.textContent = "trustworthiness " + trust.toFixed(3);
      t.title = "Venna & Kaski (2001), k = 5: 1 = every map neighbour is a true neighbour";
      h.appendChild(t);
    }
    const canvas = document.createElement("canvas");
    card.append(h, canvas);
    container.appendChild(card);
    const p = { canvas, ctx: canvas.getContext("2d"), words, pts: normalise(xy), colour,
                categories, table };
    resize(p);
    return p;
  }

  function build(container, legend, map, onSelect) {
    container.textContent = ""; legend.textContent = ""; panels.length = 0;
    state.onSelect = onSelect;
    const cats = map.categories;
    const { names, colour } = colourOf(cats || ["words"]);
    const colourAt = i => colour.get(cats ? cats[i] : "words");
    if (cats) names.forEach(n => {
      const s = document.createElement("span"), dot = document.createElement("i");
      dot.style.background = colour.get(n); s.append(dot, n.replace(/_/g, " ")); legend.appendChild(s);
    });
    for (const m of map.panels) {
      panels.push(panel(container, m.label, m.trust, map.words, m.xy, colourAt, cats, m.table));
      attach(panels[panels.length - 1]);
    }
    drawAll();
  }

  function highlight(word, neighbours) {
    state.selected = word; state.neighbours = neighbours; drawAll();
  }

  // Where `word` is drawn on `table`'s map, in client pixels (null: not on it).
  function pointAt(table, word) {
    const p = panels.find(x => x.table === table), i = p ? p.words.indexOf(word) : -1;
    if (i < 0) return null;
    const [x, y] = screen(p, geometry(p), i), r = p.canvas.getBoundingClientRect();
    return { x: r.left + x, y: r.top + y };
  }

  window.addEventListener("resize", () => { panels.forEach(resize); drawAll(); });
  return { build, highlight, drawAll, pointAt, view, PALETTE, normalise, panel, label };
})();
