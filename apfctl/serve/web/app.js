// apfctl's factory page: the monitor's table of every queue (from /-/api/view), and a page per
// queue (from /-/api/queue/NAME) with plots drawn as inline SVG. No library, no outside network.
"use strict";

const COLUMNS = ["queue", "pending", "held", "running", "exiting", "done_1h", "fault_1h", "submitted",
                 "activity", "age", "msg"];
const NUMERIC = new Set(["pending", "held", "running", "exiting", "done_1h", "fault_1h", "submitted", "age",
                         "activity"]);
const HEALTH_ORDER = {failing: 0, stale: 1, never: 2, ok: 3};
const COLOURS = {submitted: "#2b8cbe", pending: "#7b3294", held: "#e08214", running: "#1a9641",
                 done: "#4575b4", fault: "#d7191c", decided: "#888888"};
const params = new URLSearchParams(location.search);
const REFRESH = Math.max(2, Number(params.get("refresh")) || 10);

const state = {view: null, sort: {key: "queue", desc: false}, filter: "", hours: 24, timer: null};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value; else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child));
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function titled(text) {
  const title = svg("title");
  title.textContent = text;
  return title;
}

function ageText(seconds) {
  if (seconds === null || seconds === undefined) return "never";
  const s = Math.floor(seconds);
  const two = (n) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${two(Math.floor(s % 3600 / 60))}m`;
  return `${Math.floor(s / 86400)}d${two(Math.floor(s % 86400 / 3600))}h`;
}

function problem(text) {
  const box = document.getElementById("problem");
  box.hidden = !text;
  box.textContent = text || "";
}

async function getJSON(url) {
  let response;
  try {
    response = await fetch(url, {cache: "no-store"});
  } catch (error) {
    throw new Error(`the factory's server cannot be reached (${error.message})`);
  }
  let document_;
  try {
    document_ = await response.json();
  } catch (error) {
    throw new Error(`${url}: HTTP ${response.status}, not JSON`);
  }
  if (!response.ok) throw new Error(document_.error || `${url}: HTTP ${response.status}`);
  return document_;
}

// --- the table of every queue ----------------------------------------------------------------
function message(row) {
  const errors = Object.entries(row.errors || {});
  if (errors.length) return errors.map(([source, error]) => `${source}: ${error}`).join("; ");
  const msg = row.limited_by ? `${row.limited_by.step}  ⟵ ${row.msg}` : row.msg;
  if (!row.configured) return `(not configured) ${msg}`.trim();
  if (!row.enabled) return `(disabled) ${msg}`.trim();
  return msg;
}

function sparkline(values) {
  const width = values.length * 3, height = 14, top = Math.max(0, ...values);
  const graph = svg("svg", {class: "spark", width, height, viewBox: `0 0 ${width} ${height}`});
  values.forEach((value, index) => {
    if (value <= 0) return;
    const bar = Math.max(1, Math.round(height * value / top));
    graph.append(svg("rect", {x: index * 3, y: height - bar, width: 2, height: bar}));
  });
  graph.append(titled(`${values.reduce((a, b) => a + b, 0)} pilots submitted in 2 h`));
  return graph;
}

function sortValue(row, key) {
  if (key === "activity") return (row.activity.submitted || []).reduce((a, b) => a + b, 0);
  if (key === "health") return HEALTH_ORDER[row.health];
  return row[key];
}

function globToRegExp(glob) {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${escaped}$`, "i");
}

function matches(row, filter) {
  if (!filter) return true;
  const name = row.label || row.queue;
  if (/[*?]/.test(filter)) return globToRegExp(filter).test(row.queue) || globToRegExp(filter).test(name);
  const needle = filter.toLowerCase();
  return name.toLowerCase().includes(needle) || message(row).toLowerCase().includes(needle);
}

function shownRows() {
  const rows = state.view.queues.filter((row) => matches(row, state.filter));
  const {key, desc} = state.sort;
  rows.sort((a, b) => {
    const x = sortValue(a, key), y = sortValue(b, key);
    if (x === y) return a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : 0;
    if (x === null || x === undefined) return 1;              // no value (no cycle yet): last either way
    if (y === null || y === undefined) return -1;
    const order = x < y ? -1 : 1;
    return desc ? -order : order;
  });
  return rows;
}

function cell(row, key) {
  if (key === "queue") {
    return el("td", {class: "queue"}, el("a", {href: `#queue/${encodeURIComponent(row.queue)}`},
                                         state.view.several ? `${row.factory}:${row.queue}` : row.queue));
  }
  if (key === "activity") return el("td", {class: "activity"}, sparkline(row.activity.submitted || []));
  if (key === "age") return el("td", {class: "age"}, ageText(row.age) + (row.health === "stale" ? " stale" : ""));
  if (key === "msg") return el("td", {class: "msg", title: message(row)}, message(row));
  const value = row[key];
  const classes = `num ${key}` + (key === "held" && value ? " some" : "");
  return el("td", {class: classes}, value === null || value === undefined ? "-" : String(value));
}

// A row per resource type under its queue (row.types: the record's batch, decision and submission types).
function typeRows(row) {
  return (row.types || []).map((type) => {
    const line = el("tr", {class: "type-row", "data-queue": row.queue, "data-type": type.name});
    for (const key of COLUMNS) {
      if (key === "queue") line.append(el("td", {class: "queue"}, type.name));
      else if (key === "msg") line.append(el("td", {class: "msg", title: type.msg || ""}, type.msg || ""));
      else if (key in type) line.append(cell(type, key));
      else line.append(el("td"));
    }
    return line;
  });
}

function drawTable() {
  const body = document.querySelector("#queues tbody");
  const rows = shownRows();
  const lines = [];
  for (const row of rows) {
    const classes = [row.health, row.configured && row.enabled ? "" : "unconfigured"].join(" ").trim();
    const line = el("tr", {class: `queue-row ${classes}`, "data-queue": row.queue, "data-health": row.health});
    for (const key of COLUMNS) line.append(cell(row, key));
    lines.push(line, ...typeRows(row));
  }
  body.replaceChildren(...lines);
  if (!state.view.queues.length) {
    body.append(el("tr", {}, el("td", {colspan: COLUMNS.length, class: "empty"}, "no enabled queues")));
  } else if (!rows.length) {
    body.append(el("tr", {}, el("td", {colspan: COLUMNS.length, class: "empty"}, `no queue matches ${state.filter}`)));
  }
  document.getElementById("count").textContent = `${rows.length} of ${state.view.queues.length} queues`;
  for (const th of document.querySelectorAll("#queues th")) {
    th.classList.toggle("sorted-asc", th.dataset.key === state.sort.key && !state.sort.desc);
    th.classList.toggle("sorted-desc", th.dataset.key === state.sort.key && state.sort.desc);
  }
}

function summarise(view) {
  const failing = view.queues.filter((row) => row.health === "failing").length;
  const stale = view.queues.filter((row) => row.health === "stale").length;
  const parts = [`${view.queues.length} queues`];
  if (failing) parts.push(`${failing} failing`);
  if (stale) parts.push(`${stale} stale`);
  parts.push(`at ${view.time.slice(11, 19)} UTC`);
  document.getElementById("factory").textContent = view.factory;
  document.getElementById("summary").textContent = parts.join(" · ");
}

async function loadView() {
  try {
    const view = await getJSON("/-/api/view");
    view.several = new Set(view.queues.map((row) => row.factory)).size > 1;
    state.view = view;
    summarise(view);
    problem(view.has_cycles || !view.queues.length ? "" :
      "No cycle is recorded in the ledger yet: the table shows the configured queues only (run apfctl cycle --all).");
    drawTable();
  } catch (error) {
    problem(`The queues cannot be shown: ${error.message}`);
  }
}

// --- one queue over time ---------------------------------------------------------------------
function niceTop(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

// A line plot of several series over the cycles' times (null values are gaps).
function linePlot(title, cycles, names) {
  const width = 560, height = 180, left = 44, right = 10, top = 10, bottom = 26;
  const times = cycles.map((cycle) => Date.parse(cycle.time));
  const t0 = Math.min(...times), t1 = Math.max(...times);
  const span = Math.max(1, t1 - t0);
  const ymax = niceTop(Math.max(0, ...cycles.flatMap((cycle) => names.map((name) => cycle[name] || 0))));
  const x = (t) => left + (width - left - right) * (t - t0) / span;
  const y = (v) => top + (height - top - bottom) * (1 - v / ymax);
  const graph = svg("svg", {width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title});
  for (const fraction of [0, 0.5, 1]) {
    const value = ymax * fraction;
    graph.append(svg("line", {class: fraction ? "grid" : "axis", x1: left, x2: width - right, y1: y(value),
                              y2: y(value)}));
    const label = svg("text", {x: left - 4, y: y(value) + 3, "text-anchor": "end"});
    label.textContent = String(Math.round(value));
    graph.append(label);
  }
  for (const [t, anchor] of [[t0, "start"], [t1, "end"]]) {
    const label = svg("text", {x: x(t), y: height - 8, "text-anchor": anchor});
    label.textContent = new Date(t).toISOString().slice(5, 16).replace("T", " ");
    graph.append(label);
  }
  for (const name of names) {
    let points = [];
    const flush = () => {
      if (points.length === 1) {
        const [px, py] = points[0].split(",");
        graph.append(svg("circle", {cx: px, cy: py, r: 2, fill: COLOURS[name], "data-series": name}));
      } else if (points.length) {
        graph.append(svg("polyline", {points: points.join(" "), stroke: COLOURS[name], "data-series": name,
                                      "stroke-dasharray": name === "decided" ? "4 3" : "none"}));
      }
      points = [];
    };
    cycles.forEach((cycle, index) => {
      if (cycle[name] === null || cycle[name] === undefined) flush();
      else points.push(`${x(times[index]).toFixed(1)},${y(cycle[name]).toFixed(1)}`);
    });
    flush();
  }
  const legend = el("div", {class: "legend"},
    ...names.map((name) => el("span", {}, Object.assign(el("i"), {style: `background:${COLOURS[name]}`}), name)));
  return el("div", {class: "plot", "data-plot": title}, el("h4", {}, title), graph, legend);
}

function barPlot(items) {
  const width = 560, row = 20, left = 140;
  const top = Math.max(1, ...items.map((item) => item.count));
  const graph = svg("svg", {width, height: row * items.length + 4, role: "img", "aria-label": "held reasons"});
  items.forEach((item, index) => {
    const label = svg("text", {x: left - 6, y: index * row + 14, "text-anchor": "end"});
    label.textContent = item.reason;
    const bar = svg("rect", {x: left, y: index * row + 3, height: row - 6, fill: COLOURS.held,
                             width: Math.max(1, (width - left - 60) * item.count / top)});
    bar.append(titled(item.example));
    const count = svg("text", {x: left + (width - left - 60) * item.count / top + 6, y: index * row + 14});
    count.textContent = String(item.count);
    graph.append(label, bar, count);
  });
  return el("div", {class: "plot", "data-plot": "held reasons"}, graph);
}

function drawQueue(page) {
  const plots = document.getElementById("plots");
  if (!page.cycles.length) {
    plots.replaceChildren(el("p", {class: "empty"}, `no cycle of ${page.queue} in the last ${state.hours} h`));
  } else {
    plots.replaceChildren(
      linePlot("pilots submitted per cycle", page.cycles, ["submitted", "decided"]),
      linePlot("pilots by state at each cycle", page.cycles, ["pending", "held", "running"]),
      linePlot("pilots ended in the hour before each cycle", page.cycles, ["done", "fault"]));
  }
  document.getElementById("held").replaceChildren(page.held_reasons.length ? barPlot(page.held_reasons) :
    el("p", {class: "empty"}, "no held pilots"));
  document.getElementById("decisions").replaceChildren(...(page.decisions.length ? page.decisions.map((decision) =>
    el("details", {}, el("summary", {}, `${decision.time}  pilots ${decision.pilots}  ${decision.msg}`),
       el("pre", {}, decision.explain || decision.msg))) : [el("p", {class: "empty"}, "no decisions")]));
  const errors = page.errors.length ? el("table", {}, el("tr", {}, el("th", {}, "time"), el("th", {}, "source"),
      el("th", {}, "error")),
    ...page.errors.map((error) => el("tr", {class: "error"}, el("td", {}, error.time), el("td", {}, error.source),
                                     el("td", {}, error.error)))) : el("p", {class: "empty"}, "no errors");
  document.getElementById("errors").replaceChildren(errors);
}

async function loadQueue(name) {
  document.getElementById("queue-name").textContent = name;
  for (const button of document.querySelectorAll("#windows button")) {
    button.classList.toggle("active", Number(button.dataset.hours) === state.hours);
  }
  try {
    drawQueue(await getJSON(`/-/api/queue/${encodeURIComponent(name)}?hours=${state.hours}`));
    problem("");
  } catch (error) {
    problem(`${name} cannot be shown: ${error.message}`);
  }
}

// --- navigation and refresh ------------------------------------------------------------------
function currentQueue() {
  const match = location.hash.match(/^#queue\/(.+)$/);
  return match ? decodeURIComponent(match[1]) : null;
}

function refresh() {
  const queue = currentQueue();
  document.getElementById("list").hidden = queue !== null;
  document.getElementById("detail").hidden = queue === null;
  return queue === null ? loadView() : loadQueue(queue);
}

function schedule() {
  clearInterval(state.timer);
  if (document.getElementById("autorefresh").checked) state.timer = setInterval(refresh, REFRESH * 1000);
}

document.getElementById("every").textContent = String(REFRESH);
document.getElementById("filter").addEventListener("input", (event) => {
  state.filter = event.target.value.trim();
  if (state.view) drawTable();
});
for (const th of document.querySelectorAll("#queues th")) {
  th.addEventListener("click", () => {
    const key = th.dataset.key;
    // names A to Z first; numbers (and ages) largest first, as apfctl monitor --sort does
    state.sort = state.sort.key === key ? {key, desc: !state.sort.desc} : {key, desc: NUMERIC.has(key)};
    drawTable();
  });
}
for (const button of document.querySelectorAll("#windows button")) {
  button.addEventListener("click", () => { state.hours = Number(button.dataset.hours); refresh(); });
}
document.getElementById("autorefresh").addEventListener("change", schedule);
window.addEventListener("hashchange", refresh);
refresh();
schedule();
