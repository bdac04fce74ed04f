// The lesson page: plays one or two journeys of the quiet car in step, with the levers.
// Plain JavaScript, no library, no request outside the page (the server's own /api/journey,
// or nothing at all for a saved page). Everything shown comes from the config below.
"use strict";
(function () {
  const C = JSON.parse(document.getElementById("config").textContent);
  const CELL = 30, LEFT = 44, TOP = 26, LANES = [0, 1, 2, 4, 5];  // lane 3 is the aisle
  const STATIONS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  (function paneB() {  // setting B's pane is setting A's, copied
    const a = $('.pane[data-pane="a"]'), b = a.cloneNode(true);
    b.dataset.pane = "b";
    $("h2 [data-label]", b).dataset.label = "ui.setting_b";
    a.after(b);
  })();
  const state = {
    lang: C.lang || ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en"),
    minute: 0, playing: false, speed: 4, compare: false, seed: C.seed, last: null, request: {a: 0, b: 0},
    panes: {a: {values: Object.assign({}, C.values), journey: null}, b: {values: Object.assign({}, C.values), journey: null}},
  };

  // --- words -----------------------------------------------------------------------------------
  function t(key, fields) {
    let s = C.labels[state.lang][key];
    if (s === undefined) s = C.labels.en[key];
    if (s === undefined) s = key;
    if (fields) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in fields ? fields[k] : m));
    return s;
  }
  function leverLabel(spec) { return t("lever." + spec.name) === "lever." + spec.name ? spec.label : t("lever." + spec.name); }
  function choiceLabel(spec, v) { const k = "choice." + spec.name + "." + v; const s = t(k); return s === k ? String(v) : s; }
  function station(k) { return k < STATIONS.length ? STATIONS[k] : "S" + k; }
  function fmt(x, how) {
    if (x === null || x === undefined || Number.isNaN(x)) return "–";
    if (how === "share") return (100 * x).toFixed(0) + " %";
    if (how === "count") return String(Math.round(x));
    return x.toFixed(1);
  }
  function fmtDiff(x, how) {
    if (x === null || x === undefined || Number.isNaN(x)) return "–";
    const sign = x > 0 ? "+" : (x < 0 ? "−" : "±");
    const a = Math.abs(x);
    if (how === "share") return sign + (100 * a).toFixed(0) + " " + t("unit.points");
    if (how === "count") return sign + String(Math.round(a));
    return sign + a.toFixed(1);
  }
  function fmtLever(spec, v) {
    if (spec.choices) return choiceLabel(spec, v);
    const digits = Math.max(0, -Math.floor(Math.log10(spec.step)));
    return Number(v).toFixed(digits);
  }

  // --- journeys ----------------------------------------------------------------------------------
  function prepare(j) {  // the seats of every frame, from the changes each frame stores
    const occ = new Int8Array(j.seats);
    j.occupant = j.frames.map(f => { (f.o || []).forEach(([s, c]) => { occ[s] = c; }); return occ.slice(); });
    j.rows = Math.ceil(j.seats / 5);
    j.end = j.frames[j.frames.length - 1].m;
    return j;
  }
  function frameAt(j, minute) {  // the last frame at or before the minute
    let lo = 0, hi = j.frames.length - 1;
    while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (j.frames[mid].m <= minute + 1e-9) lo = mid; else hi = mid - 1; }
    return lo;
  }
  function end() {
    const ends = ["a", "b"].filter(p => p === "a" || state.compare).map(p => state.panes[p].journey)
      .filter(Boolean).map(j => j.end);
    return ends.length ? Math.max.apply(null, ends) : 0;
  }
  function numbersAt(j, i) {  // the numbers of FINAL at frame i: exact at the last frame
    const f = j.frames[i];
    if (i === j.frames.length - 1) return Object.assign({}, j.final);
    const starts = f.k.reduce((a, b) => a + b, 0);
    const out = {violations: starts, violations_per_100_pax_h: f.v[0], noisy_time_share: f.v[1],
                 disturbed_pax_min_per_pax_h: f.v[2]};
    C.enders.forEach((w, n) => { out["ended_by." + w] = starts ? f.e[n] / starts : null; });
    return out;
  }

  // --- the seat map (SVG) -------------------------------------------------------------------------
  function esc(s) { return String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }
  // The car lies across a wide screen (front on the left) and stands on a narrow one (front on
  // top), so a phone shows seats as large as a projector does.
  function layout(rows, vertical) {
    const L = vertical ? 34 : LEFT, T = vertical ? 44 : TOP;
    const cell = (r, lane) => vertical ? [L + lane * CELL, T + r * CELL] : [L + r * CELL, T + lane * CELL];
    return {
      vertical: vertical, cell: cell,
      seat: s => cell(Math.floor(s / 5), LANES[s % 5]),
      W: vertical ? L + 6 * CELL + 12 : L + rows * CELL + 16,
      H: vertical ? T + rows * CELL + 30 : T + 6 * CELL + 26,
      body: vertical ? [L - 4, T - 4, 6 * CELL + 8, rows * CELL + 8] : [L - 4, T - 4, rows * CELL + 8, 6 * CELL + 8],
      band: r => vertical ? [L - 3, T + r * CELL, 6 * CELL + 6, CELL] : [L + r * CELL, T - 3, CELL, 6 * CELL + 6],
      aisle: pos => cell(pos + 0.5, 3.5),
    };
  }
  function narrow() { return window.matchMedia("(max-width: 600px)").matches; }
  function drawCar(p) {
    const pane = $(`.pane[data-pane="${p}"]`), svg = $("svg.car", pane), j = state.panes[p].journey;
    if (!j) { svg.innerHTML = ""; return; }
    const i = frameAt(j, state.minute), f = j.frames[i], occ = j.occupant[i];
    const g = layout(j.rows, narrow()), W = g.W, H = g.H;
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.classList.toggle("vertical", g.vertical);
    svg.setAttribute("aria-label", t("ui.legend"));
    const col = C.colours, out = [];
    out.push(`<defs><pattern id="hatch-${p}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">` +
             `<rect width="6" height="6" fill="${col.occupants[2]}"/><rect width="2.2" height="6" fill="#8a5a00"/></pattern></defs>`);
    const [bx, by, bw, bh] = g.body;
    out.push(`<rect x="${bx}" y="${by}" width="${bw}" height="${bh}" rx="10" fill="#fff" stroke="#555" stroke-width="2"/>`);
    const halo = new Array(j.rows).fill(0);
    (f.n || []).forEach(([s, k]) => {
      const r = Math.floor(s / 5), reach = j.reach[k];
      for (let q = Math.max(0, r - reach); q <= Math.min(j.rows - 1, r + reach); q++) halo[q] += 1;
    });
    halo.forEach((c, r) => {
      const [x, y, w, h] = g.band(r);
      if (c) out.push(`<rect class="halo" x="${x}" y="${y}" width="${w}" height="${h}" fill="${col.noise}" fill-opacity="${Math.min(0.14 * c, 0.5)}"/>`);
    });
    for (let r = 0; r < j.rows; r++) {
      const [x, y] = g.cell(r, 0);
      out.push(g.vertical ? `<text x="${x - 14}" y="${y + CELL / 2 + 5}" font-size="13" text-anchor="middle" fill="#444">${r + 1}</text>`
                          : `<text x="${x + CELL / 2}" y="${y - 8}" font-size="12" text-anchor="middle" fill="#444">${r + 1}</text>`);
    }
    "ABCDF".split("").forEach((L, n) => {
      const [x, y] = g.cell(0, LANES[n]);
      out.push(g.vertical ? `<text x="${x + CELL / 2}" y="${y - 9}" font-size="14" text-anchor="middle" fill="#444">${L}</text>`
                          : `<text x="${x - 12}" y="${y + 20}" font-size="14" text-anchor="middle" fill="#444">${L}</text>`);
    });
    if (g.vertical) {
      out.push(`<text x="${bx}" y="14" font-size="13" fill="#444">▲ ${esc(t("ui.front"))}</text>`);
      out.push(`<text x="${bx}" y="${H - 8}" font-size="13" fill="#444">▼ ${esc(t("ui.back_of_car"))}</text>`);
    } else {
      out.push(`<text x="${LEFT}" y="${H - 6}" font-size="13" fill="#444">◀ ${esc(t("ui.front"))}</text>`);
      out.push(`<text x="${LEFT + j.rows * CELL}" y="${H - 6}" font-size="13" fill="#444" text-anchor="end">${esc(t("ui.back_of_car"))} ▶</text>`);
      out.push(`<text x="${LEFT + j.rows * CELL / 2}" y="${TOP + 3 * CELL + 20}" font-size="13" fill="#777" text-anchor="middle">${esc(t("ui.aisle"))}</text>`);
    }
    const boarded = new Set(f.b || []), alighted = new Set(f.a || []);
    for (let s = 0; s < j.seats; s++) {
      const [x, y] = g.seat(s), c = occ[s];
      const fill = c === 2 ? `url(#hatch-${p})` : col.occupants[c];
      let stroke = `stroke="#666" stroke-width="1"`;
      if (boarded.has(s)) stroke = `stroke="#000" stroke-width="3.5"`;
      else if (alighted.has(s)) stroke = `stroke="#000" stroke-width="2" stroke-dasharray="4 3"`;
      out.push(`<rect class="seat" data-seat="${s}" data-occupant="${c}" x="${x + 3}" y="${y + 3}" width="${CELL - 6}" height="${CELL - 6}" rx="4" fill="${fill}" ${stroke}/>`);
      if (c === 3) out.push(`<circle cx="${x + CELL / 2}" cy="${y + CELL / 2}" r="4" fill="#fff"/>`);
    }
    (f.n || []).forEach(([s, k]) => {
      const [x, y] = g.seat(s);
      out.push(`<circle class="noisy" data-seat="${s}" cx="${x + CELL / 2}" cy="${y + CELL / 2}" r="12.5" fill="${col.noise}" stroke="#fff" stroke-width="1.5"/>` +
               `<text x="${x + CELL / 2}" y="${y + CELL / 2 + 6}" font-size="17" text-anchor="middle" fill="#fff">${C.glyphs[C.kinds[k]]}</text>`);
    });
    (f.st || []).forEach(([pos]) => {
      const [x, y] = g.aisle(pos), word = esc(t("bubble.intervene")), w = g.vertical ? 46 : 60;
      out.push(`<g class="staff"><rect x="${x - w / 2}" y="${y - 12}" width="${w}" height="24" rx="6" fill="${col.staff}"/>` +
               `<text x="${x}" y="${y + 5}" font-size="${g.vertical ? 12 : 14}" font-weight="bold" text-anchor="middle" fill="#fff">${word}</text></g>`);
    });
    (f.bu || []).forEach(([s, what]) => {
      const [x, y] = g.seat(s), word = esc(t("bubble." + C.bubbles[what]));
      const above = g.vertical || LANES[s % 5] >= 2, by = above ? y - 6 : y + CELL + 16, w = Math.max(44, 9 * word.length);
      const cx = Math.min(Math.max(x + CELL / 2, w / 2 + 2), W - w / 2 - 2);
      out.push(`<g class="bubble"><rect x="${cx - w / 2}" y="${by - 15}" width="${w}" height="20" rx="5" fill="#fff" stroke="#222"/>` +
               `<text x="${cx}" y="${by}" font-size="13" text-anchor="middle" fill="#111">${word}</text></g>`);
    });
    svg.innerHTML = out.join("");
  }

  function drawLegend(p) {
    const col = C.colours, box = $(`.pane[data-pane="${p}"] .legend`);
    const sw = c => c === 2 ? `<span class="sw" style="background: repeating-linear-gradient(45deg, ${col.occupants[2]} 0 3px, #8a5a00 3px 5px)"></span>`
                            : `<span class="sw" style="background:${col.occupants[c]}"></span>`;
    box.innerHTML = [1, 2, 3, 0].map(c => `<span>${sw(c)}${esc(t("occupant." + c))}</span>`).join("") +
      `<span><span class="sw" style="background:${col.noise};border-radius:50%"></span>${C.kinds.map(k => C.glyphs[k] + " " + esc(t("kind." + k))).join(", ")}</span>` +
      `<span><span class="sw" style="background:${col.noise};opacity:.35"></span>${esc(t("ui.halo"))}</span>` +
      `<span><span class="sw" style="background:${col.staff}"></span>${esc(t("bubble.intervene"))}</span>`;
  }

  // --- the live panels, the log and the numbers -------------------------------------------------------
  function drawLive(p) {
    const pane = $(`.pane[data-pane="${p}"]`), j = state.panes[p].journey;
    if (!j) return;
    const i = frameAt(j, state.minute), f = j.frames[i], x = numbersAt(j, i), col = C.colours;
    const starts = f.k.reduce((a, b) => a + b, 0);
    const kindBar = f.k.map((n, k) => n ? `<span style="width:${100 * n / Math.max(1, starts)}%;background:${["#555", "#888", "#aaa", "#ccc"][k]}" title="${esc(t("kind." + C.kinds[k]))}"></span>` : "").join("");
    const endBar = f.e.map((n, w) => n ? `<span style="width:${100 * n / Math.max(1, starts)}%;background:${col.enders[w]}"></span>` : "").join("");
    const on = j.occupant[i].reduce((a, c) => a + (c ? 1 : 0), 0);
    $(".live", pane).innerHTML =
      `<div><div class="small">${esc(t("metric.violations"))}</div><div class="big" data-live="violations">${starts}</div>` +
      `<div class="small">${C.kinds.map((k, n) => C.glyphs[k] + " " + f.k[n]).join("  ")}</div><div class="bar">${kindBar}</div></div>` +
      `<div><div class="small">${esc(t("metric.noisy_time_share"))}</div><div class="big" data-live="noisy_time_share">${fmt(x.noisy_time_share, "share")}</div>` +
      `<div class="small">${esc(t("ui.noise_now"))}: ${(f.n || []).length} · ${esc(t("ui.disturbed_now"))}: ${f.d || 0} · ${esc(t("ui.on_board"))}: ${on}</div></div>` +
      `<div><div class="small">${esc(t("metric.violations_per_100_pax_h"))}</div><div class="big">${fmt(x.violations_per_100_pax_h, "rate")}</div></div>` +
      `<div><div class="small">${esc(t("ui.who_ended"))}</div><div class="small">${C.enders.map((w, n) => esc(t("ender." + w)) + " " + f.e[n]).join(" · ")}</div><div class="bar">${endBar}</div></div>`;
    const shown = j.events.filter(e => e[0] <= state.minute + 1e-9).slice(-6).reverse();
    $(".log", pane).innerHTML = shown.map(e => {
      const fields = e[1] === "event.station" ? {station: e[2], off: e[3], on: e[4]} : {seat: e[2], kind: e[3] ? t("kind." + e[3]) : ""};
      return `<li><span class="t">${e[0].toFixed(1)}</span> ${esc(t(e[1], fields))}</li>`;
    }).join("");
    const stops = j.stops, leg = stops.filter(s => s <= f.m + 1e-9).length - 1;
    $(".where", pane).textContent = f.s !== undefined ? t("ui.at_station", {station: station(f.s)})
      : (leg < stops.length - 1 ? t("ui.between", {a: station(leg), b: station(leg + 1)}) : "");
  }

  function drawNumbers() {
    const a = state.panes.a.journey, b = state.panes.b.journey;
    if (!a) return;
    const ia = frameAt(a, state.minute), na = numbersAt(a, ia);
    const ib = b ? frameAt(b, state.minute) : -1, nb = b ? numbersAt(b, ib) : {};
    const final = ia === a.frames.length - 1 && (!state.compare || !b || ib === b.frames.length - 1);
    $("#numbers caption").textContent = t(final ? "ui.final" : "ui.so_far");
    $("#numbers").dataset.final = final ? "1" : "0";
    $("#numbers tbody").innerHTML = C.final.map(([name, how]) => {
      const va = na[name], vb = nb[name];
      const d = (va === null || va === undefined || vb === null || vb === undefined) ? null : vb - va;
      const cell = (cls, v, text) => `<td class="${cls}" data-value="${v === null || v === undefined ? "" : v}">${text}</td>`;
      return `<tr data-metric="${name}"><th scope="row">${esc(t("metric." + name))}</th>` + cell("a", va, fmt(va, how)) +
             cell("b", vb, fmt(vb, how)) + cell("diff", d, fmtDiff(d, how)) + "</tr>";
    }).join("");
  }

  function drawDiffers() {  // what this setting changes, written above its car when comparing
    ["a", "b"].forEach(p => {
      const mine = state.panes[p].values, other = state.panes[p === "a" ? "b" : "a"].values;
      const parts = C.levers.filter(spec => mine[spec.name] !== other[spec.name])
        .map(spec => leverLabel(spec) + ": " + fmtLever(spec, mine[spec.name]));
      $(`.pane[data-pane="${p}"] .differs`).textContent = parts.length ? parts.join("; ") : t("ui.same_levers");
    });
  }

  function draw() {
    const e = end();
    state.minute = Math.min(state.minute, e);
    ["a", "b"].forEach(p => { if (p === "a" || state.compare) { drawCar(p); drawLive(p); } });
    drawNumbers();
    if (state.compare) drawDiffers();
    const scrub = $("#scrub");
    scrub.max = String(e);
    scrub.value = String(state.minute);
    $("#clock").textContent = t("ui.minute", {minute: Math.floor(state.minute + 1e-9), total: Math.round(e)});
    $("#play").textContent = t(state.playing ? "ui.pause" : "ui.play");
    document.body.dataset.minute = String(state.minute);
    document.body.dataset.atEnd = state.minute >= e - 1e-9 ? "1" : "0";
  }

  // --- words on the page -----------------------------------------------------------------------------
  function relabel() {
    document.documentElement.lang = state.lang === "zh" ? "zh-Hans" : "en";
    $$("[data-label]").forEach(el => { el.textContent = t(el.dataset.label); });
    $$("[data-title]").forEach(el => { el.title = t(el.dataset.title); el.setAttribute("aria-label", t(el.dataset.title)); });
    $("#compare").textContent = t(state.compare ? "ui.compare_off" : "ui.compare");
    if (C.mode === "offline") $("header p").textContent = t("ui.subtitle") + " " + t("ui.offline");
    document.title = t("ui.title");
    buildLevers();
    ["a", "b"].forEach(drawLegend);
    draw();
  }

  // --- levers -----------------------------------------------------------------------------------------
  function buildLevers() {
    ["a", "b"].forEach(p => {
      const box = $(`fieldset[data-pane="${p}"] .levers`), values = state.panes[p].values, parts = [];
      if (C.mode === "server" && p === "a") {
        parts.push(`<div class="lever"><label for="seed">${esc(t("ui.seed"))}</label><div class="row">` +
                   `<input id="seed" type="number" min="0" max="4294967295" step="1" value="${state.seed}"></div></div>`);
      }
      C.levers.forEach(spec => {
        const id = `lever-${p}-${spec.name}`, v = values[spec.name];
        let control, fixed = "";
        if (C.mode === "offline") {
          const grid = C.grid[spec.name];
          if (grid) {
            control = `<select id="${id}" data-lever="${spec.name}">` + grid.map((g, n) =>
              `<option value="${n}"${g === v ? " selected" : ""}>${esc(fmtLever(spec, g))}</option>`).join("") + "</select>";
          } else {
            control = `<select id="${id}" data-lever="${spec.name}" disabled><option>${esc(fmtLever(spec, v))}</option></select>`;
            fixed = ` <span class="fixed">(${esc(t("ui.fixed"))})</span>`;
          }
        } else if (spec.choices) {
          control = `<select id="${id}" data-lever="${spec.name}">` + spec.choices.map(c =>
            `<option value="${esc(c)}"${c === v ? " selected" : ""}>${esc(choiceLabel(spec, c))}</option>`).join("") + "</select>";
        } else {
          control = `<input id="${id}" data-lever="${spec.name}" type="range" min="${spec.lo}" max="${spec.hi}" step="${spec.step}" value="${v}">` +
                    `<output for="${id}">${esc(fmtLever(spec, v))}</output>`;
        }
        parts.push(`<div class="lever"><label for="${id}">${esc(leverLabel(spec))}${fixed}</label><div class="row">${control}</div></div>`);
      });
      if (C.mode === "offline" && p === "a") parts.push(`<p class="grid-note">${gridNote().map(esc).join("<br>")}</p>`);
      box.innerHTML = parts.join("");
      $$("[data-lever]", box).forEach(el => {
        const spec = C.levers.find(s => s.name === el.dataset.lever);
        el.addEventListener("input", () => {
          if (el.type === "range") $("output", el.parentNode).textContent = fmtLever(spec, Number(el.value));
        });
        el.addEventListener("change", () => {
          let v = el.value;
          if (C.mode === "offline") v = C.grid[spec.name][Number(el.value)];
          else if (!spec.choices) v = Number(el.value);
          state.panes[p].values[spec.name] = v;
          load(p);
        });
      });
    });
    const seed = $("#seed");
    if (seed) seed.addEventListener("change", () => {
      const n = Number(seed.value);
      if (!Number.isInteger(n) || n < 0 || n > 4294967295) { message(t("ui.error", {message: `seed ${seed.value}`})); return; }
      state.seed = n;
      load("a");
      if (state.compare) load("b");
    });
  }

  // A saved page moves its levers only over the saved values: say so, and say which of the
  // scenario's own values are not among them (the page then starts at the first saved value).
  function gridNote() {
    const lines = [t("ui.grid_only")];
    Object.keys(C.grid).forEach(name => {
      const spec = C.levers.find(s => s.name === name), own = (C.base || {})[name];
      if (own !== undefined && C.grid[name].indexOf(own) < 0) {
        lines.push(t("ui.not_in_grid", {lever: leverLabel(spec), value: fmtLever(spec, own),
                                        shown: fmtLever(spec, C.grid[name][0])}));
      }
    });
    return lines;
  }

  function message(text) {
    const box = $("#message");
    box.textContent = text || "";
    box.classList.toggle("shown", !!text);
  }

  function offlineKey(values) {
    return Object.keys(C.grid).map(name => C.grid[name].indexOf(values[name])).join("|");
  }

  function setJourney(p, j) {
    state.panes[p].journey = prepare(j);
    document.body.dataset["journey" + p.toUpperCase()] = String(Number(document.body.dataset["journey" + p.toUpperCase()] || 0) + 1);
    draw();
  }

  function load(p) {
    const values = state.panes[p].values;
    if (C.mode === "offline") {
      const j = C.journeys[offlineKey(values)];
      if (!j) {
        const saved = Object.keys(C.grid).map(n => leverLabel(C.levers.find(s => s.name === n)) + ": " +
          C.grid[n].map(g => fmtLever(C.levers.find(s => s.name === n), g)).join(", ")).join("; ");
        message(t("ui.not_saved", {values: saved}));
        return;
      }
      message("");
      setJourney(p, JSON.parse(JSON.stringify(j)));
      return;
    }
    const n = ++state.request[p];
    $("#busy").classList.add("shown");
    fetch(C.api, {method: "POST", headers: {"Content-Type": "application/json"},
                  body: JSON.stringify({seed: state.seed, levers: values})})
      .then(r => r.json().then(body => ({ok: r.ok, body: body})))
      .then(({ok, body}) => {
        if (n !== state.request[p]) return;
        if (!ok) { message(t("ui.error", {message: body.error || "?"})); return; }
        message("");
        setJourney(p, body);
      })
      .catch(err => { if (n === state.request[p]) message(t("ui.error", {message: String(err)})); })
      .finally(() => { if (n === state.request[p]) $("#busy").classList.remove("shown"); });
  }

  // --- playing ------------------------------------------------------------------------------------------
  function tick(now) {
    if (!state.playing) return;
    if (state.last !== null) state.minute += (now - state.last) / 1000 * state.speed;
    state.last = now;
    if (state.minute >= end()) { state.minute = end(); state.playing = false; }
    draw();
    if (state.playing) requestAnimationFrame(tick);
  }
  function play(on) {
    state.playing = on === undefined ? !state.playing : on;
    if (state.playing && state.minute >= end() - 1e-9) state.minute = 0;
    state.last = null;
    draw();
    if (state.playing) requestAnimationFrame(tick);
  }
  function step(dir) {
    play(false);
    const j = state.panes.a.journey, i = frameAt(j, state.minute);
    state.minute = j.frames[Math.max(0, Math.min(j.frames.length - 1, i + dir))].m;
    draw();
  }
  function setSpeed(dir) {
    const sel = $("#speed"), n = Math.max(0, Math.min(sel.options.length - 1, sel.selectedIndex + dir));
    sel.selectedIndex = n;
    state.speed = Number(sel.value);
  }

  $("#play").addEventListener("click", () => play());
  $("#back").addEventListener("click", () => step(-1));
  $("#forward").addEventListener("click", () => step(1));
  $("#restart").addEventListener("click", () => { play(false); state.minute = 0; draw(); });
  $("#speed").addEventListener("change", () => { state.speed = Number($("#speed").value); });
  $("#scrub").addEventListener("input", () => { state.minute = Number($("#scrub").value); draw(); });
  $("#lang").addEventListener("click", () => { state.lang = state.lang === "zh" ? "en" : "zh"; relabel(); });
  $("#compare").addEventListener("click", () => {
    state.compare = !state.compare;
    $("#main").classList.toggle("compare", state.compare);
    $("#compare").setAttribute("aria-pressed", String(state.compare));
    if (state.compare && !state.panes.b.journey) {
      state.panes.b.values = Object.assign({}, state.panes.a.values);
      state.panes.b.journey = state.panes.a.journey && prepare(JSON.parse(JSON.stringify(state.panes.a.journey)));
    }
    relabel();
  });
  document.addEventListener("keydown", ev => {
    const tag = (ev.target.tagName || "").toLowerCase();
    if (["input", "select", "textarea"].includes(tag)) return;  // a slider's arrows, a list's space: their own
    if (tag === "button" && (ev.key === " " || ev.key === "Enter")) return;  // the button's own action
    if (ev.key === " ") { ev.preventDefault(); play(); }
    else if (ev.key === "ArrowRight") step(1);
    else if (ev.key === "ArrowLeft") step(-1);
    else if (ev.key === "+" || ev.key === "=") setSpeed(1);
    else if (ev.key === "-" || ev.key === "_") setSpeed(-1);
    else if (ev.key === "Home") { play(false); state.minute = 0; draw(); }
    else if (ev.key === "l" || ev.key === "L") $("#lang").click();
  });

  window.addEventListener("resize", () => draw());
  state.speed = Number($("#speed").value);
  state.panes.a.journey = prepare(C.journey);
  relabel();
  window.lesson = {state: state, t: t, end: end, load: load, draw: draw};
})();
