// dPrune interactive report: draws the data embedded in #dprune-data with the inlined Plotly.
"use strict";
const D = JSON.parse(document.getElementById("dprune-data").textContent);
const S = D.sample;
const N = S.row_id.length;
const SHOWN = 200;
const KEPT_COLOUR = "#2e9e4f", DROPPED_COLOUR = "#d2453b";
const FIELDS = {label: "label", cluster: "cluster", label_flipped: "flipped label", dropped_by: "rule"};

const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})[c]);
function fmt(v) {
  if (v === null || v === undefined) return "\u2013";
  if (typeof v !== "number") return esc(v);
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e6) return String(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(3) : String(+v.toPrecision(4));
}
function wrap(text, width) {
  const lines = [];
  let line = "";
  for (const word of String(text ?? "").split(/\s+/)) {
    if (line && line.length + word.length + 1 > width) { lines.push(line); line = word; }
    else line = line ? line + " " + word : word;
  }
  if (line) lines.push(line);
  return lines.map(esc).join("<br>");
}
const fate = (kept, rule) => kept ? '<span class="kept">kept</span>'
  : '<span class="dropped">dropped</span>' + (rule ? " by " + esc(rule) : "");
const player = (src) => !src ? "" : src.startsWith("unplayable: ") ? esc(src)
  : `<audio controls preload="none" src="${esc(src)}"></audio>`;

// ---- the row explorer: the sampled rows behind the last selection ----
let current = {what: "all sampled rows", rows: null};
let sortKey = null, sortDir = 1;
const haystack = Array.from({length: N}, (_, i) => [S.text?.[i], S.label?.[i], S.dropped_by?.[i], S.row_id[i]]
  .filter((v) => v !== null && v !== undefined).join(" ").toLowerCase());
const rowColumns = [["row_id", (i) => S.row_id[i]], ["fate", (i) => S.kept[i] ? 1 : 0]];
if (S.label) rowColumns.push(["label", (i) => S.label[i]]);
if (S.cluster) rowColumns.push(["cluster", (i) => S.cluster[i]]);
if (S.text) rowColumns.push(["text", (i) => S.text[i]]);
if (S.audio) rowColumns.push(["audio", (i) => S.audio[i]]);
for (const c of D.score_columns) rowColumns.push([c, (i) => S.scores[c][i]]);

function rowCells(i) {
  return rowColumns.map(([name, get]) => {
    if (name === "fate") return `<td>${fate(S.kept[i], S.dropped_by?.[i])}</td>`;
    if (name === "text") return `<td class="text">${esc(S.text[i])}</td>`;
    if (name === "audio") return `<td>${player(S.audio[i])}</td>`;
    if (name === "label") return `<td>${esc(S.label[i])}</td>`;
    return `<td class="num">${fmt(get(i))}</td>`;
  }).join("");
}
function showRows(what, rows) {
  current = {what, rows};
  renderRows();
  if (what !== "all sampled rows") document.getElementById("rows").scrollIntoView({behavior: "smooth", block: "start"});
}
function renderRows() {
  const query = document.getElementById("rows-search").value.trim().toLowerCase();
  let rows = current.rows ?? Array.from({length: N}, (_, i) => i);
  if (query) rows = rows.filter((i) => haystack[i].includes(query));
  if (sortKey !== null) {
    const get = rowColumns[sortKey][1];
    rows = rows.slice().sort((a, b) => {
      const x = get(a), y = get(b);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sortDir;
    });
  }
  const sampled = N < D.rows ? ` (random sample of ${N.toLocaleString()} of ${D.rows.toLocaleString()} rows)` : "";
  document.getElementById("rows-count").textContent =
    `${current.what}${sampled}: ${rows.length.toLocaleString()} rows` + (rows.length > SHOWN ? `, first ${SHOWN} shown` : "");
  document.querySelector("#rows-table tbody").innerHTML =
    rows.slice(0, SHOWN).map((i) => `<tr data-row="${S.row_id[i]}">${rowCells(i)}</tr>`).join("");
}
function setupRows() {
  const head = document.querySelector("#rows-table thead");
  head.innerHTML = "<tr>" + rowColumns.map(([name]) => `<th>${esc(name)}</th>`).join("") + "</tr>";
  head.querySelectorAll("th").forEach((th, k) => th.addEventListener("click", () => {
    sortDir = sortKey === k ? -sortDir : 1;
    sortKey = k;
    renderRows();
  }));
  document.getElementById("rows-search").addEventListener("input", renderRows);
  document.getElementById("rows-clear").addEventListener("click", () => showRows("all sampled rows", null));
  renderRows();
}
const sampleWhere = (test) => Array.from({length: N}, (_, i) => i).filter(test);
function groupRows(field, group) {
  const values = field === "label_flipped" ? S.label_flipped : S[field];
  return values ? sampleWhere((i) => values[i] === group) : [];
}

// ---- the summary ----
function setupSummary() {
  const s = D.summary;
  const pct = (k, n) => n ? (100 * k / n).toFixed(1) : "\u2013";
  document.getElementById("headline").textContent =
    `Kept ${D.kept.toLocaleString()} of ${D.rows.toLocaleString()} rows (${pct(D.kept, D.rows)}%).`;
  const lines = [`<tr class="link" data-field=""><td>all rows</td><td></td><td class="num">${s.rows}</td><td class="num">${s.kept}</td><td class="num">${pct(s.kept, s.rows)}</td></tr>`];
  for (const r of D.retention) {
    r.groups.forEach((g, k) => lines.push(`<tr class="link" data-field="${r.field}" data-index="${k}" data-key="${r.key}"><td>${esc(r.what)}</td><td>${esc(g.group)}</td><td class="num">${g.rows}</td><td class="num">${g.kept}</td><td class="num">${pct(g.kept, g.rows)}</td></tr>`));
  }
  for (const r of s.by_rule ?? []) {
    lines.push(`<tr class="link" data-field="dropped_by" data-rule="${esc(r.rule)}"><td>dropped by rule</td><td>${esc(r.rule)}</td><td class="num">${r.dropped}</td><td class="num">0</td><td class="num">0</td></tr>`);
  }
  for (const [c, e] of Object.entries(s.scores)) {
    lines.push(`<tr><td>score ${esc(c)}</td><td>kept [${fmt(e.kept_min)}, ${fmt(e.kept_max)}]</td><td colspan="3">dropped [${fmt(e.dropped_min)}, ${fmt(e.dropped_max)}]</td></tr>`);
  }
  const body = document.querySelector("#summary-table tbody");
  body.innerHTML = lines.join("");
  body.querySelectorAll("tr.link").forEach((tr) => tr.addEventListener("click", () => {
    const field = tr.dataset.field;
    if (!field) return showRows("all sampled rows", null);
    if (field === "dropped_by") return showRows(`dropped by ${tr.dataset.rule}`, sampleWhere((i) => S.dropped_by?.[i] === tr.dataset.rule));
    const entry = D.retention.find((r) => r.key === tr.dataset.key).groups[+tr.dataset.index];
    showRows(`${FIELDS[field]} ${entry.group}`, groupRows(field, entry.group));
  }));
}

// ---- the data map ----
function drawMap() {
  const m = D.map;
  const hint = document.getElementById("map-hint");
  if (m.kind === "none") { hint.textContent = "No score to plot."; return Promise.resolve(); }
  const xs = S.scores[m.x];
  const ys = m.y ? S.scores[m.y] : S.row_id.map((_, i) => (i * 0.6180339887) % 1);
  const what = {dynamics: "Confidence (mean probability of the gold label over training) against variability (its spread): easy-to-learn rows sit top left, ambiguous ones in the middle, hard-to-learn (often mislabelled) ones at the bottom.",
                scores: `${m.y} against ${m.x}.`, strip: `${m.x}, with a random vertical jitter.`}[m.kind];
  const sampled = N < D.rows ? ` A random sample of ${N.toLocaleString()} of the ${D.rows.toLocaleString()} rows is shown.` : "";
  hint.textContent = `${what}${sampled} Hover a point to read its row; drag a box or a lasso to list its rows.`;
  const hover = (i) => {
    const lines = [wrap(S.text ? S.text[i] : "", 70), fate(S.kept[i], S.dropped_by?.[i]).replace(/<span class="(\w+)">(\w+)<\/span>/, "<b>$2</b>")];
    if (S.label) lines.push("label: " + esc(S.label[i]));
    if (S.cluster) lines.push("cluster: " + S.cluster[i]);
    for (const c of D.score_columns) lines.push(esc(c) + ": " + fmt(S.scores[c][i]));
    lines.push("row_id: " + S.row_id[i]);
    return lines.join("<br>");
  };
  const traces = [true, false].map((keep) => {
    const rows = sampleWhere((i) => S.kept[i] === keep && xs[i] !== null && ys[i] !== null);
    return {
      type: "scatter", mode: "markers", name: keep ? "kept" : "dropped",
      x: rows.map((i) => xs[i]), y: rows.map((i) => ys[i]), customdata: rows, text: rows.map(hover),
      hovertemplate: "%{text}<extra></extra>",
      marker: {size: 6, opacity: 0.65, color: keep ? KEPT_COLOUR : DROPPED_COLOUR},
    };
  });
  window.dpruneMapPoints = traces[0].x.length + traces[1].x.length;
  const axis = (title, log) => ({title: {text: title + (log ? " (log axis)" : "")}, type: log ? "log" : "linear", zeroline: false});
  const layout = {
    height: 560, margin: {l: 60, r: 20, t: 20, b: 50}, hovermode: "closest", dragmode: "lasso",
    xaxis: axis(m.x, m.x_log), yaxis: m.y ? axis(m.y, m.y_log) : {title: {text: "random jitter"}, showticklabels: false},
    legend: {orientation: "h", y: 1.05}, hoverlabel: {align: "left"},
  };
  return Plotly.newPlot("datamap", traces, layout, {displaylogo: false, responsive: true}).then((gd) => {
    gd.on("plotly_selected", (event) => {
      if (event && event.points) showRows(`${event.points.length} rows selected on the data map`, event.points.map((p) => p.customdata));
    });
    gd.on("plotly_deselect", () => showRows("all sampled rows", null));
  });
}

// ---- score histograms ----
function drawHistograms() {
  document.getElementById("scores-hint").textContent =
    `Every row counted. Dashed lines: the range of the kept rows. A score whose largest value is at least ${D.heavy_tail_ratio}\u00d7 its median (all values positive) is drawn on a log axis. Click a bin to list its rows.`;
  const holder = document.getElementById("histograms");
  return Promise.all(D.histograms.map((h, k) => {
    const div = document.createElement("div");
    div.id = `hist-${k}`;
    holder.appendChild(div);
    const step = (counts, name, colour) => ({
      type: "scatter", mode: "lines", name, x: h.edges, y: [...counts, counts[counts.length - 1]],
      customdata: h.edges.map((_, j) => j), line: {shape: "hv", color: colour, width: 1}, fill: "tozeroy",
      hovertemplate: `%{y} ${name} rows from %{x}<extra></extra>`,
    });
    const shapes = [...new Set(h.kept_range.filter((v) => v !== null))].map((v) => ({
      type: "line", x0: v, x1: v, yref: "paper", y0: 0, y1: 1, line: {dash: "dash", width: 1, color: "#333"}}));
    const missing = h.missing ? ` (${h.missing} rows without a value)` : "";
    const layout = {
      title: {text: `${esc(h.column)}${h.log ? " \u2013 log axis" : ""}${missing}`, font: {size: 14}},
      height: 300, margin: {l: 50, r: 10, t: 40, b: 40}, shapes, hovermode: "x",
      xaxis: {type: h.log ? "log" : "linear"}, yaxis: {title: {text: "rows"}}, legend: {orientation: "h", y: -0.2},
    };
    return Plotly.newPlot(div, [step(h.kept, "kept", KEPT_COLOUR), step(h.dropped, "dropped", DROPPED_COLOUR)], layout,
                          {displaylogo: false, responsive: true}).then((gd) => gd.on("plotly_click", (event) => {
      const j = Math.min(event.points[0].customdata, h.edges.length - 2);
      const low = h.edges[j], high = h.edges[j + 1], values = S.scores[h.column];
      showRows(`${h.column} in [${fmt(low)}, ${fmt(high)})`, sampleWhere((i) => values[i] !== null && values[i] >= low && (values[i] < high || (j === h.edges.length - 2 && values[i] <= high))));
    }));
  }));
}

// ---- kept and dropped per group ----
function drawRetention() {
  const holder = document.getElementById("retention-plots");
  const plots = D.retention.map((r) => ({title: `per ${r.what}`, field: r.field, groups: r.groups.map((g) => g.group),
                                         kept: r.groups.map((g) => g.kept), dropped: r.groups.map((g) => g.rows - g.kept)}));
  if (D.summary.by_rule?.length) {
    plots.push({title: "dropped per rule", field: "dropped_by", groups: D.summary.by_rule.map((r) => r.rule),
                kept: D.summary.by_rule.map(() => 0), dropped: D.summary.by_rule.map((r) => r.dropped)});
  }
  return Promise.all(plots.map((p, k) => {
    const div = document.createElement("div");
    div.id = `retention-${k}`;
    holder.appendChild(div);
    const names = p.groups.map(String);
    const bar = (values, name, colour) => ({type: "bar", name, x: names, y: values, customdata: p.groups.map((_, j) => j),
                                            marker: {color: colour}, hovertemplate: `%{x}: %{y} ${name}<extra></extra>`});
    const layout = {title: {text: `Kept and dropped ${p.title}`, font: {size: 14}}, barmode: "stack", height: 300,
                    margin: {l: 50, r: 10, t: 40, b: 60}, xaxis: {type: "category"}, yaxis: {title: {text: "rows"}},
                    legend: {orientation: "h", y: -0.25}};
    return Plotly.newPlot(div, [bar(p.kept, "kept", KEPT_COLOUR), bar(p.dropped, "dropped", DROPPED_COLOUR)], layout,
                          {displaylogo: false, responsive: true}).then((gd) => gd.on("plotly_click", (event) => {
      const group = p.groups[event.points[0].customdata];
      const rows = p.field === "dropped_by" ? sampleWhere((i) => S.dropped_by?.[i] === group) : groupRows(p.field, group);
      showRows(`${FIELDS[p.field]} ${group}`, rows);
    }));
  }));
}

// ---- extreme rows ----
function setupExtremes() {
  const E = D.extremes;
  const select = document.getElementById("extremes-score");
  select.innerHTML = '<option value="">every score</option>' + D.score_columns.map((c) => `<option>${esc(c)}</option>`).join("");
  const columns = ["score", "end", "value", "fate", "row_id", ...(E.label ? ["label"] : []), ...(E.text ? ["text"] : []), ...(E.audio ? ["audio"] : [])];
  document.querySelector("#extremes-table thead").innerHTML = "<tr>" + columns.map((c) => `<th>${c}</th>`).join("") + "</tr>";
  const text = E.score.map((_, i) => [E.text?.[i], E.label?.[i], E.dropped_by?.[i], E.row_id[i]].filter((v) => v !== null && v !== undefined).join(" ").toLowerCase());
  const render = () => {
    const score = select.value, query = document.getElementById("extremes-search").value.trim().toLowerCase();
    const rows = E.score.map((_, i) => i).filter((i) => (!score || E.score[i] === score) && (!query || text[i].includes(query)));
    document.getElementById("extremes-count").textContent = `${rows.length} rows`;
    document.querySelector("#extremes-table tbody").innerHTML = rows.map((i) => "<tr>" + columns.map((c) => {
      if (c === "fate") return `<td>${fate(E.kept[i], E.dropped_by?.[i])}</td>`;
      if (c === "value" || c === "row_id") return `<td class="num">${fmt(c === "value" ? E.value[i] : E.row_id[i])}</td>`;
      if (c === "audio") return `<td>${player(E.audio[i])}</td>`;
      if (c === "end") return `<td>${E.end[i]} ${E.part[i]}</td>`;
      return `<td${c === "text" ? ' class="text"' : ""}>${esc(E[c][i])}</td>`;
    }).join("") + "</tr>").join("");
  };
  select.addEventListener("change", render);
  document.getElementById("extremes-search").addEventListener("input", render);
  render();
}

function setupFigures() {
  document.getElementById("figures").innerHTML = D.figures.length
    ? "PNG copies for documents: " + D.figures.map((f) => `<a href="${esc(f)}">${esc(f)}</a>`).join(", ")
    : "None.";
}

setupSummary();
setupRows();
setupExtremes();
setupFigures();
Promise.all([drawMap(), drawHistograms(), drawRetention()]).then(() => { window.dpruneReady = true; });
