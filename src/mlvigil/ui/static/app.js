// The mlvigil dashboard: a read-only view of the service's JSON API.
//
// Every string from the API (model, column, category, alert names) reaches the page
// as a text node or an attribute set with setAttribute, never as HTML, so a feature
// named "<img src=x onerror=alert(1)>" shows as those characters.
//
// When the API answers 401 (or 403: a token without the read scope), the page asks for
// a token, keeps it in this tab's sessionStorage (never a cookie: a page on another
// origin cannot make the browser send it) and sends it as a header on every request.
"use strict";

const REFRESH_MS = 15000;
const SVG_NS = "http://www.w3.org/2000/svg";
const TOKEN_KEY = "mlvigil.token";

// ---- DOM helpers -------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttributes(node, attrs);
  append(node, children);
  return node;
}

function setAttributes(node, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, String(value));
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function card(title, ...children) {
  return el("section", { class: "card" }, el("h2", {}, title), ...children);
}

// ---- formatting --------------------------------------------------------------------

function number(value, digits = 3) {
  if (value === null || value === undefined) return "—";
  // Trailing zeros of the fraction only: 100 stays 100, 0.500 becomes 0.5.
  return Number(value).toPrecision(digits).replace(/(\.\d*?)0+(e|$)/, "$1$2").replace(/\.(e|$)/, "$1");
}

function percent(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`;
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "no data";
  const units = [["d", 86400], ["h", 3600], ["min", 60]];
  for (const [unit, size] of units) if (seconds >= size) return `${Math.floor(seconds / size)} ${unit} ago`;
  return `${Math.max(0, Math.round(seconds))} s ago`;
}

function shortTime(iso) {
  return iso ? iso.replace("T", " ").replace(/:\d\d(\.\d+)?\+00:00$/, "") : "";
}

function badge(text, kind) {
  return el("span", { class: `badge ${kind || ""}` }, text);
}

// ---- routing and data --------------------------------------------------------------

const modelHref = (model) => `#/models/${encodeURIComponent(model)}`;
const featureHref = (model, column, window) =>
  `${modelHref(model)}/features/${encodeURIComponent(column)}` +
  (window ? `?window=${encodeURIComponent(window)}` : "");

function parseRoute() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query || "");
  if (parts[0] === "models" && parts.length >= 2) {
    if (parts[2] === "features" && parts.length >= 4) {
      return { view: "feature", model: parts[1], column: parts[3], window: params.get("window") };
    }
    return { view: "model", model: parts[1] };
  }
  if (parts[0] === "slos") return { view: "slos" };
  const offset = Number.parseInt(params.get("offset") || "0", 10);
  return {
    view: "overview",
    search: params.get("search") || "",
    sort: params.get("sort") || "",
    status: params.get("status") || "",
    limit: params.get("limit") || "",
    offset: Number.isFinite(offset) && offset > 0 ? offset : 0,
  };
}

// The overview's address for these choices (only those that are set).
function overviewHref(choices) {
  const params = new URLSearchParams();
  for (const key of ["search", "sort", "status", "limit", "offset"]) {
    if (choices[key]) params.set(key, String(choices[key]));
  }
  const query = params.toString();
  return query ? `#/?${query}` : "#/";
}

// ---- the token --------------------------------------------------------------------

class NeedsToken extends Error {}

const storedToken = () => sessionStorage.getItem(TOKEN_KEY);

function authHeaders() {
  const token = storedToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function api(path) {
  const response = await fetch(`api/v1/${path}`, { headers: { Accept: "application/json", ...authHeaders() } });
  const body = await response.json().catch(() => ({}));
  const message = body.detail || `${response.status} ${response.statusText}`;
  if (response.status === 401 || response.status === 403) throw new NeedsToken(message);
  if (!response.ok) throw new Error(message);
  return body;
}

function tokenForm(reason) {
  const input = el("input", { id: "token", type: "password", autocomplete: "off", spellcheck: "false", required: true });
  const submit = (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    render();
  };
  return [
    el("h1", {}, "A token is needed"),
    card("Sign in with a token",
      el("p", {}, `The service answered: ${reason}`),
      el("form", { id: "token-form", class: "row", onsubmit: submit },
        el("label", { for: "token" }, "Token"), input, el("button", { type: "submit" }, "Use token")),
      el("p", { class: "muted" }, "A token with the read scope (mlvigil init writes on-call.token). It is kept in this tab only and sent as an Authorization header.")),
  ];
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  render();
}

// A report opens in a new tab when reads need no token. A tab opened from a link sends
// no header, so with a token the report is fetched with it and saved as its HTML file
// (self-contained: it opens offline).
function reportLink(href, text, name) {
  const open = (event) => {
    if (!storedToken()) return;
    event.preventDefault();
    download(href, `mlvigil-report-${name}.html`.replace(/[^\w.-]+/g, "_"));
  };
  return el("a", { href, target: "_blank", class: "report", onclick: open }, text);
}

async function download(href, filename) {
  const error = document.getElementById("error");
  try {
    const response = await fetch(href, { headers: authHeaders() });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.detail || `${response.status} ${response.statusText}`);
    }
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: filename, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (failure) {
    error.textContent = `Could not download the report: ${failure.message}`;
    error.hidden = false;
  }
}

function crumbs(...links) {
  const nav = document.getElementById("crumbs");
  nav.replaceChildren(...links.map(([text, href]) => (href ? el("a", { href }, text) : el("span", {}, text))));
}

// ---- charts ------------------------------------------------------------------------

const CHART = { width: 560, height: 160, left: 44, right: 10, top: 10, bottom: 22 };

// A line over windows; nulls break it. Options: threshold, max, hollow[i], failed[i], extra lines.
function lineChart(windows, series, options = {}) {
  const { width, height, left, right, top, bottom } = CHART;
  const all = series.flatMap((s) => s.values).filter((v) => v !== null);
  if (options.threshold !== null && options.threshold !== undefined) all.push(options.threshold);
  if (options.band) all.push(...options.band.upper.filter((v) => v !== null));
  const max = options.max ?? Math.max(1e-9, ...all) * 1.1;
  const n = Math.max(windows.length, 1);
  const x = (i) => left + (n === 1 ? 0.5 : i / (n - 1)) * (width - left - right);
  const y = (v) => top + (1 - Math.min(v, max) / max) * (height - top - bottom);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": options.label || "chart" });
  chart.append(
    svg("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }),
    svg("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end" }, number(max, 2)),
    svg("text", { x: left - 6, y: y(0), "text-anchor": "end" }, "0"),
  );
  if (windows.length) {
    chart.append(
      svg("text", { x: left, y: height - 6 }, shortTime(windows[0].start)),
      svg("text", { x: width - right, y: height - 6, "text-anchor": "end" }, shortTime(windows[windows.length - 1].start)),
    );
  }
  if (options.band) {
    // The sampling band: one filled area per run of windows that have both bounds.
    const { lower, upper } = options.band;
    let run = [];
    const flush = () => {
      if (run.length) {
        const top = run.map((i) => `${x(i).toFixed(1)},${y(upper[i]).toFixed(1)}`);
        const bottom = run.slice().reverse().map((i) => `${x(i).toFixed(1)},${y(lower[i]).toFixed(1)}`);
        chart.append(svg("polygon", { class: "band", points: [...top, ...bottom].join(" ") }));
      }
      run = [];
    };
    lower.forEach((v, i) => { if (v === null || upper[i] === null) flush(); else run.push(i); });
    flush();
  }
  for (const limit of options.limits || []) {
    chart.append(svg("line", { class: "threshold", x1: left, x2: width - right, y1: y(limit), y2: y(limit) },
      svg("title", {}, `limit ${number(limit)}`)));
  }
  if (options.threshold !== null && options.threshold !== undefined) {
    chart.append(svg("line", { class: "threshold", x1: left, x2: width - right, y1: y(options.threshold), y2: y(options.threshold) },
      svg("title", {}, `threshold ${number(options.threshold)}`)));
  }
  for (const s of series) {
    let path = "";
    s.values.forEach((v, i) => {
      if (v === null) { path += " "; return; }
      path += `${path.endsWith(" ") || path === "" ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    });
    chart.append(svg("path", { class: `line ${s.class || ""}`, d: path.trim().replace(/ +/g, " ") }));
    if (s.dots && windows.length <= 200) {
      s.values.forEach((v, i) => {
        if (v === null) return;
        const kind = s.hollow && s.hollow[i] ? "hollow" : s.failed && s.failed[i] ? "failed" : "";
        chart.append(svg("circle", { class: `dot ${s.class || ""} ${kind}`, cx: x(i), cy: y(v), r: 3 },
          svg("title", {}, `${shortTime(windows[i].start)}: ${number(v)}`)));
      });
    }
  }
  return chart;
}

// Failed checks per window as bars.
function barChart(windows, values, label) {
  const { width, height, left, right, top, bottom } = CHART;
  const max = Math.max(1, ...values.filter((v) => v !== null));
  const step = (width - left - right) / Math.max(windows.length, 1);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label });
  const y = (v) => top + (1 - v / max) * (height - top - bottom);
  chart.append(
    svg("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }),
    svg("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end" }, String(max)),
    svg("text", { x: left - 6, y: y(0), "text-anchor": "end" }, "0"),
  );
  values.forEach((v, i) => {
    if (!v) return;
    chart.append(svg("rect", { class: "bar", x: left + i * step, width: Math.max(step - 1, 1), y: y(v), height: y(0) - y(v) },
      svg("title", {}, `${shortTime(windows[i].start)}: ${v} failed`)));
  });
  return chart;
}

// Reference vs current shares over the same bins or categories.
function distributionChart(d) {
  if (d.kind === "none") return el("p", { class: "muted" }, "Nothing to draw: no values on either side.");
  const width = 720, height = 220, left = 44, bottom = d.kind === "categorical" ? 60 : 24, top = 8;
  const n = d.labels.length;
  const step = (width - left - 8) / n;
  const max = Math.max(1e-9, ...d.reference, ...d.current);
  const y = (v) => top + (1 - v / max) * (height - top - bottom);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": `distribution of ${d.column}` });
  chart.append(
    svg("line", { class: "axis", x1: left, x2: width - 8, y1: y(0), y2: y(0) }),
    svg("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end" }, percent(max)),
  );
  d.labels.forEach((label, i) => {
    const group = svg("g", { class: "bin" }, svg("title", {}, `${label}: reference ${percent(d.reference[i])}, current ${percent(d.current[i])}`));
    const x0 = left + i * step;
    const w = d.kind === "categorical" ? step * 0.4 : step - 1;
    group.append(svg("rect", { class: "ref", x: x0, width: w, y: y(d.reference[i]), height: y(0) - y(d.reference[i]) }));
    const xc = d.kind === "categorical" ? x0 + w : x0;
    group.append(svg("rect", { class: "cur", x: xc, width: w, y: y(d.current[i]), height: y(0) - y(d.current[i]) }));
    if (d.kind === "categorical") {
      const text = label.length > 14 ? `${label.slice(0, 13)}…` : label;
      group.append(svg("text", { x: x0 + w, y: height - bottom + 14, "text-anchor": "end", transform: `rotate(-35 ${x0 + w} ${height - bottom + 14})` }, text));
    }
    chart.append(group);
  });
  if (d.kind === "numerical") {
    chart.append(
      svg("text", { x: left, y: height - 6 }, number(d.edges[0])),
      svg("text", { x: width - 8, y: height - 6, "text-anchor": "end" }, number(d.edges[d.edges.length - 1])),
    );
  }
  return el("div", {}, chart, el("div", { class: "legend" },
    el("i", { class: "swatch-ref" }), "reference", el("i", { class: "swatch-cur" }), "current",
    ` · nulls: reference ${percent(d.reference_null_rate)}, current ${percent(d.current_null_rate)}`));
}

// Columns × windows of drift scores on a canvas (100 × 1,000 cells draw in milliseconds).
function heatmap(model, view) {
  const { columns, scores } = view.drift_scores;
  const windows = view.windows;
  if (!columns.length) return el("p", { class: "muted" }, "No drift results yet.");
  const rowHeight = 14;
  const canvas = el("canvas", { height: columns.length * rowHeight, width: 900, "aria-label": "drift scores by column and window", role: "img" });
  const labels = el("ol", {}, columns.map((c) => el("li", { title: c }, el("a", { href: featureHref(model, c) }, c))));
  const draw = () => {
    const width = Math.max(200, Math.round(canvas.getBoundingClientRect().width)) || 900;
    canvas.width = width;
    canvas.style.height = `${canvas.height}px`;
    const context = canvas.getContext("2d");
    const cell = width / Math.max(windows.length, 1);
    context.clearRect(0, 0, width, canvas.height);
    scores.forEach((row, r) => row.forEach((score, w) => {
      context.fillStyle = score === null ? "#ffffff" : scoreColor(score);
      context.fillRect(Math.floor(w * cell), r * rowHeight, Math.ceil(cell), rowHeight - 1);
    }));
  };
  const cellAt = (event) => {
    const box = canvas.getBoundingClientRect();
    const w = Math.floor(((event.clientX - box.left) / box.width) * windows.length);
    const r = Math.floor((event.clientY - box.top) / rowHeight);
    return r >= 0 && r < columns.length && w >= 0 && w < windows.length ? [r, w] : null;
  };
  const tooltip = document.getElementById("tooltip");
  canvas.addEventListener("mousemove", (event) => {
    const at = cellAt(event);
    if (!at) { tooltip.hidden = true; return; }
    const score = scores[at[0]][at[1]];
    tooltip.textContent = `${columns[at[0]]} · ${shortTime(windows[at[1]].start)} · score ${number(score)}${score >= 1 ? " (drift)" : ""}`;
    tooltip.style.left = `${event.clientX + 12}px`;
    tooltip.style.top = `${event.clientY + 12}px`;
    tooltip.hidden = false;
  });
  canvas.addEventListener("mouseleave", () => { tooltip.hidden = true; });
  canvas.addEventListener("click", (event) => {
    const at = cellAt(event);
    if (at) location.hash = featureHref(model, columns[at[0]], windows[at[1]].start);
  });
  requestAnimationFrame(draw);
  return el("div", {},
    el("div", { class: "heatmap" }, labels, canvas),
    el("div", { class: "scale" }, "score 0", el("span", { class: "ramp" }), "2+ · 1 = the method's threshold; click a cell for that column and window"));
}

function scoreColor(score) {
  // 0 → light grey, 1 (threshold) → amber, 2+ → dark red.
  const stops = [[0, [242, 244, 247]], [1, [251, 211, 141]], [2, [180, 35, 24]]];
  const s = Math.max(0, Math.min(score, 2));
  const [a, b] = s <= 1 ? [stops[0], stops[1]] : [stops[1], stops[2]];
  const t = (s - a[0]) / (b[0] - a[0]);
  const rgb = a[1].map((c, i) => Math.round(c + t * (b[1][i] - c)));
  return `rgb(${rgb.join(",")})`;
}

// ---- pages -------------------------------------------------------------------------

function healthBadges(m) {
  const badges = [];
  if (m.drift) badges.push(badge(m.drift.status === "failed" ? `drift ${percent(m.drift.share)}` : "no drift", m.drift.status === "failed" ? "bad" : "ok"));
  if (!m.windows) badges.push(badge("no window yet", "warn"));
  else badges.push(badge(m.quality.failed ? `${m.quality.failed} quality failing` : "quality ok", m.quality.failed ? "bad" : "ok"));
  if (m.errors.length) badges.push(badge(`${m.errors.length} not computed`, "bad"));
  if (m.alerts.firing) badges.push(badge(`${m.alerts.firing} firing`, "bad"));
  if (m.alerts.silenced) badges.push(badge(`${m.alerts.silenced} silenced`, "warn"));
  return badges;
}

const SORTS = [["config", "as configured"], ["name", "by name"], ["status", "most urgent first"]];
let searchTimer = null;

// Search, order and the summary of every model (whatever the page) above the table.
function overviewControls(route, data) {
  const search = el("input", {
    id: "search", type: "search", value: route.search, placeholder: "search models",
    "aria-label": "search models", autocomplete: "off", spellcheck: "false",
  });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { location.hash = overviewHref({ ...route, search: search.value, offset: 0 }); }, 250);
  });
  const sort = el("select", { id: "sort", "aria-label": "order",
    onchange: (event) => { location.hash = overviewHref({ ...route, sort: event.target.value === "config" ? "" : event.target.value, offset: 0 }); } },
  SORTS.map(([value, text]) => el("option", { value, selected: (route.sort || "config") === value }, text)));
  const s = data.summary;
  const filter = (status, text, kind) => el("a", {
    href: overviewHref({ ...route, status: route.status === status ? "" : status, offset: 0 }),
    class: `badge ${kind}${route.status === status ? " chosen" : ""}`, "data-status": status,
  }, text);
  return el("div", { class: "row controls" },
    search, sort,
    el("span", { id: "summary", class: "summary" },
      `${s.models} models`,
      filter("alerting", `${s.alerting} alerting`, s.alerting ? "bad" : ""),
      filter("failing", `${s.failing} failing`, s.failing ? "bad" : ""),
      filter("no_data", `${s.no_data} without data`, s.no_data ? "warn" : ""),
      filter("ok", `${s.ok} ok`, "ok")));
}

function pager(route, data) {
  const first = data.models.length ? data.offset + 1 : 0;
  const last = data.offset + data.models.length;
  const previous = Math.max(0, data.offset - data.limit);
  const link = (text, offset, enabled, rel) => (enabled
    ? el("a", { href: overviewHref({ ...route, offset }), class: "page", rel }, text)
    : el("span", { class: "page disabled", "aria-disabled": "true" }, text));
  // One page holds them all: no page links, just how many there are.
  const paged = data.total > data.models.length || data.offset > 0;
  return el("nav", { class: "row pager", "aria-label": "pages" },
    paged ? link("← previous", previous, data.offset > 0, "prev") : null,
    el("span", { id: "range", class: "muted" }, data.total ? `${first}–${last} of ${data.total}` : "no model matches"),
    paged ? link("next →", data.next_offset, data.next_offset !== null, "next") : null);
}

async function renderOverview(route) {
  crumbs();
  const query = new URLSearchParams();
  if (route.search) query.set("search", route.search);
  if (route.sort) query.set("sort", route.sort);
  if (route.status) query.set("status", route.status);
  if (route.limit) query.set("limit", route.limit);
  if (route.offset) query.set("offset", String(route.offset));
  const data = await api(`overview${query.toString() ? `?${query}` : ""}`);
  if (!data.summary.models) return [el("h1", {}, "Models"), el("p", { class: "muted" }, "No models configured.")];
  const rows = data.models.map((m) => el("tr", { "data-model": m.name, "data-status": m.status },
    el("td", {}, el("a", { href: modelHref(m.name) }, m.name)),
    el("td", {}, healthBadges(m)),
    el("td", { class: "num" }, m.drift ? percent(m.drift.share) : "—"),
    el("td", { class: "num" }, `${m.quality.failed} / ${m.quality.total}`),
    el("td", { class: "num", title: m.errors.map((e) => `${e.check} ${e.metric}: ${e.message}`).join("\n") }, String(m.errors.length)),
    el("td", {}, m.performance.length
      ? m.performance.map((p) => el("div", {}, `${p.metric} ${number(p.value)}`, p.threshold !== null ? ` (threshold ${number(p.threshold)})` : "", " ", badge(p.status, p.status === "passed" ? "ok" : "bad")))
      : el("span", { class: "muted" }, "no labelled window yet")),
    el("td", { class: "num" }, String(m.alerts.firing)),
    el("td", {}, age(m.data_age_seconds)),
    el("td", { class: "num" }, percent(m.label_coverage)),
  ));
  const head = ["Model", "Health", "Drift share", "Quality failing", "Not computed", "Performance", "Firing alerts", "Last data", "Label coverage"];
  return [
    el("h1", {}, "Models", " ", el("a", { href: "#/slos", class: "small" }, "SLOs")),
    overviewControls(route, data),
    el("section", { class: "card" }, el("table", { id: "models" },
      el("thead", {}, el("tr", {}, head.map((h) => el("th", {}, h)))), el("tbody", {}, rows)),
    rows.length ? null : el("p", { class: "muted" }, "No model matches the search.")),
    pager(route, data),
    el("p", { class: "muted" }, "Drift and quality are from each model's latest window; performance and label coverage from its latest window with enough labels to measure."),
  ];
}

function alertsCard(view) {
  const rows = view.alerts.map((a) => el("tr", {},
    el("td", {}, a.labels.alertname || "alert"),
    el("td", {}, badge(a.silenced ? "silenced" : a.state, a.silenced ? "warn" : a.state === "firing" ? "bad" : "warn")),
    el("td", {}, a.labels.severity || ""),
    el("td", {}, Object.entries(a.labels).filter(([k]) => !["alertname", "model", "severity"].includes(k)).map(([k, v]) => `${k}=${v}`).join(", ")),
    el("td", {}, (a.annotations && a.annotations.summary) || ""),
    el("td", {}, shortTime(a.fired_at || a.active_since)),
  ));
  const silences = view.silences.map((s) => el("li", {},
    Object.entries(s.matchers).map(([k, v]) => `${k}=${v}`).join(", "), ` until ${shortTime(s.ends_at)} — ${s.comment} (${s.created_by})`));
  return card("Alerts",
    rows.length
      ? el("table", { id: "alerts" }, el("thead", {}, el("tr", {}, ["Alert", "State", "Severity", "Labels", "Summary", "Since"].map((h) => el("th", {}, h)))), el("tbody", {}, rows))
      : el("p", { class: "muted" }, "No alerts pending or firing."),
    silences.length ? [el("h2", {}, "Active silences"), el("ul", { id: "silences" }, silences)] : null);
}

function errorsCard(view) {
  if (!view.errors.length) return null;
  const rows = view.errors.map((e) => el("tr", {},
    el("td", {}, e.check), el("td", {}, e.column || "—"), el("td", {}, e.metric),
    el("td", {}, e.segment || ""), el("td", {}, shortTime(e.window_start)), el("td", {}, e.message)));
  return card("Could not be computed",
    el("p", { class: "caveat" }, "These results have no value: their inputs do not line up. Each message says what to change."),
    el("table", { id: "errors" }, el("thead", {}, el("tr", {}, ["Check", "Column", "Metric", "Segment", "Window", "Reason"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
}

function performanceCard(view) {
  const metrics = Object.entries(view.performance);
  const coverage = view.windows.map((w) => (w.rows ? w.labelled / w.rows : null));
  const immature = view.windows.map((w) => !w.labels_final);
  const pending = immature.filter(Boolean).length;
  return card("Performance", el("div", { class: "grid" },
    metrics.length ? metrics.map(([metric, s]) => el("div", {},
      el("div", { class: "legend" }, metric, s.threshold !== null ? ` (threshold ${number(s.threshold)})` : ""),
      lineChart(view.windows, [{ values: s.values, dots: true, hollow: immature, failed: s.failed }], { threshold: s.threshold, label: `${metric} over time` })))
      : el("p", { class: "muted" }, "No performance yet: it needs labelled windows."),
    el("div", {}, el("div", { class: "legend" }, "Label coverage (share of predictions with a label)"),
      lineChart(view.windows, [{ values: coverage, class: "coverage" }], { max: 1, label: "label coverage over time" }))),
    el("p", { class: "caveat" },
      `Metrics use only the labelled predictions of each window, and a window needs enough labels to get a point. ${pending} of ${view.windows.length} windows still wait for labels (hollow points); their figures can change.`));
}

function estimationCard(view) {
  const metrics = Object.entries(view.estimation || {});
  if (!metrics.length) return null;
  return card("Estimated performance (no labels needed)", el("div", { class: "grid" },
    metrics.map(([metric, s]) => el("div", { class: "estimation", "data-metric": metric },
      el("div", { class: "legend" }, `${metric}: estimate (line, band ±3 SE), realized (dashed)`,
        s.lower !== null ? ` · limits ${number(s.lower)} – ${number(s.upper)}` : ""),
      lineChart(view.windows, [
        { values: s.values, dots: true, failed: s.failed },
        { values: s.realized, class: "realized", dots: true },
      ], { band: { lower: s.band_lower, upper: s.band_upper }, limits: [s.lower, s.upper].filter((v) => v !== null), label: `estimated ${metric} over time` })))),
    el("p", { class: "caveat" },
      "Estimated from the model's scores, calibrated on the reference: it assumes the scores stay calibrated and the relation between features and labels (P(y|x)) is unchanged. Realized values appear as labels arrive."));
}

function multivariateCard(view) {
  const methods = Object.entries(view.multivariate || {});
  if (!methods.length) return null;
  const names = { reconstruction_error: "PCA reconstruction error", domain_classifier_auc: "Domain classifier ROC AUC", mmd: "MMD" };
  return card("Multivariate drift", el("div", { class: "grid" },
    methods.map(([method, s]) => el("div", { class: "multivariate", "data-method": method },
      el("div", { class: "legend" }, names[s.metric] || s.metric, s.column ? ` · ${s.column}` : "", s.threshold !== null ? ` (limit ${number(s.threshold)})` : ""),
      lineChart(view.windows, [{ values: s.values, dots: true, failed: s.failed }], { threshold: s.threshold, label: `${method} over time` })))));
}

function explainedCard(view) {
  const explained = view.drift_explained || { contributions: [], segments: [] };
  if (!explained.contributions.length && !explained.segments.length) return null;
  const rows = explained.contributions.slice(0, 15).map((c) => el("tr", {},
    el("td", {}, c.column), el("td", { class: "num" }, c.score === null ? "—" : number(c.score)),
    el("td", { class: "num" }, c.importance === null ? "—" : number(c.importance))));
  const segments = explained.segments.map((g) => el("tr", {},
    el("td", {}, g.segment), el("td", { class: "num" }, percent(g.share)),
    el("td", {}, badge(g.status === "failed" ? "drift" : g.status, g.status === "passed" ? "ok" : "bad")),
    el("td", {}, g.drifted_columns.join(", "))));
  return card("What drifted, latest window",
    rows.length ? el("table", { id: "contributions" }, el("thead", {}, el("tr", {}, ["Column", "Drift score", "Importance"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)) : null,
    segments.length ? [el("h2", {}, "Drift by segment"), el("table", { id: "segment-drift" }, el("thead", {}, el("tr", {}, ["Segment", "Share drifted", "Status", "Drifted columns"].map((h) => el("th", {}, h)))), el("tbody", {}, segments))] : null,
    el("p", { class: "muted" }, "Columns ranked by their contribution: the drift score (1 at the column's threshold) and, where a domain classifier ran, its importance in telling the window from the reference."));
}

// Business outcomes of each window (conversion rates, revenue means and sums).
function businessCard(view) {
  const metrics = Object.entries(view.business || {});
  if (!metrics.length) return null;
  return card("Business outcomes", el("div", { class: "grid" },
    metrics.map(([metric, s]) => el("div", { class: "business", "data-metric": metric },
      el("div", { class: "legend" }, metric, s.threshold !== null ? ` (limit ${number(s.threshold)})` : ""),
      lineChart(view.windows, [{ values: s.values, dots: true, failed: s.failed }], { threshold: s.threshold, label: `${metric} over time` })))));
}

const VERDICTS = { 1: ["pass", "ok"], 0: ["inconclusive", "warn"], "-1": ["fail", "bad"] };

// One square per window: the canary's verdict there (none where it had no traffic).
function verdictStrip(windows, series, label) {
  const { width, left, right } = CHART;
  const height = 26;
  const step = (width - left - right) / Math.max(windows.length, 1);
  const strip = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label });
  series.values.forEach((v, i) => {
    if (v === null) return;
    const [word] = VERDICTS[v];
    strip.append(svg("rect", { class: `verdict ${word}`, x: left + i * step, y: 4, width: Math.max(step - 2, 2), height: 18 },
      svg("title", {}, `${shortTime(windows[i].start)}: ${word}${series.messages[i] ? ` — ${series.messages[i]}` : ""}`)));
  });
  return strip;
}

// The model's versions side by side: a line per version, canary verdicts, differences.
function versionsCard(view) {
  const v = view.versions;
  if (!v || !v.versions.length) return null;
  const colour = (version) => `v${v.versions.indexOf(version) % 4}`;
  const legend = el("div", { class: "legend", id: "version-legend" },
    v.versions.flatMap((name) => [el("i", { class: `swatch-${colour(name)}` }), `version ${name}`]));
  const charts = Object.entries(v.metrics).map(([metric, lines]) => el("div", { class: "version-metric", "data-metric": metric },
    el("div", { class: "legend" }, metric),
    lineChart(view.windows, Object.entries(lines).map(([name, values]) => ({ values, dots: true, class: colour(name) })), { label: `${metric} by version` })));
  const verdicts = Object.entries(v.canary).map(([name, series]) => {
    const last = series.values.map((value, i) => [value, i]).filter(([value]) => value !== null).pop();
    const [word, kind] = last ? VERDICTS[last[0]] : ["—", ""];
    return el("tr", { "data-version": name }, el("td", {}, name), el("td", {}, badge(word, kind)),
      el("td", {}, last ? series.messages[last[1]] : ""), el("td", {}, verdictStrip(view.windows, series, `canary verdicts of version ${name}`)));
  });
  const differences = v.differences.map((d) => el("tr", {},
    el("td", {}, d.version), el("td", {}, d.baseline || "—"), el("td", {}, d.metric),
    el("td", { class: "num" }, number(d.value)),
    el("td", { class: "num" }, d.low === null ? "—" : `${number(d.low)} to ${number(d.high)}`),
    el("td", {}, badge(d.status, d.status === "passed" ? "ok" : d.status === "failed" ? "bad" : "warn"))));
  const head = (...names) => el("thead", {}, el("tr", {}, names.map((h) => el("th", {}, h))));
  return card("Versions", legend, el("div", { class: "grid" }, charts),
    verdicts.length ? [el("h2", {}, "Canary verdicts"), el("table", { id: "canary" }, head("Version", "Latest", "Why", "Per window"), el("tbody", {}, verdicts))] : null,
    differences.length ? [el("h2", {}, `Against the baseline, window ${shortTime(v.latest_window)}`),
      el("table", { id: "differences" }, head("Version", "Baseline", "Metric", "Difference", "Interval", "Status"), el("tbody", {}, differences))] : null,
    el("p", { class: "muted" }, "Each version's metrics on its own traffic. A difference is the version's value minus the baseline's, with its confidence interval; a canary fails when a guard metric is shown to degrade beyond its tolerance, passes when shown to stay within, and is inconclusive until then."));
}

async function renderModel(route) {
  const model = route.model;
  crumbs(["Models", "#/"], [model]);
  const view = await api(`models/${encodeURIComponent(model)}/dashboard`);
  const latest = view.windows[view.windows.length - 1];
  const columns = view.columns;
  const distributions = el("div", { class: "grid" });
  const labelled = [...view.windows].reverse().find((w) => w.labelled > 0);
  for (const [title, column, window] of [["Predictions", columns.prediction, latest], ["Labels", columns.target, labelled]]) {
    const box = card(`${title} (${column})`, el("p", { class: "muted" }, window ? "Loading…" : "No labelled window yet."));
    distributions.append(box);
    if (!window) continue;
    api(`models/${encodeURIComponent(model)}/distribution?column=${encodeURIComponent(column)}&window=${encodeURIComponent(window.start)}`)
      .then((d) => box.replaceChildren(el("h2", {}, `${title} (${column}) · window ${shortTime(window.start)}`), distributionChart(d)))
      .catch((error) => box.replaceChildren(el("h2", {}, title), el("p", { class: "muted" }, error.message)));
  }
  const qualityRows = [...view.quality_latest].sort((a, b) => (a.status === "passed") - (b.status === "passed")).map((r) => el("tr", {},
    el("td", {}, r.check), el("td", {}, r.column || "—"), el("td", {}, r.metric),
    el("td", { class: "num" }, number(r.value)), el("td", {}, badge(r.status, r.status === "passed" ? "ok" : "bad")), el("td", {}, r.message)));
  return [
    el("h1", {}, model),
    el("p", { class: "muted" }, `${view.windows.length} windows`, latest ? ` · latest ${shortTime(latest.start)} – ${shortTime(latest.end)} · ${latest.rows} rows · ` : "",
      latest ? reportLink(`api/v1/models/${encodeURIComponent(model)}/report?window=${encodeURIComponent(latest.start)}`, "report of the latest window", `${model}-${latest.start}`) : ""),
    alertsCard(view),
    errorsCard(view),
    el("div", { class: "grid" },
      card("Drift share over time", lineChart(view.windows, [{ values: view.drift_share, dots: true }], { threshold: view.drift_share_threshold, max: 1, label: "drift share over time" })),
      card("Quality: failed checks per window", barChart(view.windows, view.quality_failed, "failed quality checks per window"))),
    el("div", { class: "spacer" }),
    card("Drift score by column and window", heatmap(model, view)),
    multivariateCard(view),
    explainedCard(view),
    distributions,
    el("div", { class: "spacer" }),
    performanceCard(view),
    estimationCard(view),
    versionsCard(view),
    businessCard(view),
    card("Quality checks, latest window", qualityRows.length
      ? el("table", { id: "quality" }, el("thead", {}, el("tr", {}, ["Check", "Column", "Metric", "Value", "Status", "Message"].map((h) => el("th", {}, h)))), el("tbody", {}, qualityRows))
      : el("p", { class: "muted" }, "No quality checks configured or evaluated.")),
  ];
}

async function renderFeature(route) {
  const { model, column } = route;
  crumbs(["Models", "#/"], [model, modelHref(model)], [column]);
  const base = `models/${encodeURIComponent(model)}`;
  const [view, d] = await Promise.all([
    api(`${base}/dashboard`),
    api(`${base}/distribution?column=${encodeURIComponent(column)}${route.window ? `&window=${encodeURIComponent(route.window)}` : ""}`),
  ]);
  const picker = el("select", { id: "window", "aria-label": "window", onchange: (event) => { location.hash = featureHref(model, column, event.target.value); } },
    [...view.windows].reverse().map((w) => el("option", { value: w.start, selected: w.start === d.window.start }, `${shortTime(w.start)} (${w.rows} rows)`)));
  const at = view.drift_scores.columns.indexOf(column);
  return [
    el("h1", {}, column),
    el("div", { class: "row" }, el("label", { for: "window" }, "Window"), picker,
      reportLink(`api/v1/${base}/report?window=${encodeURIComponent(d.window.start)}`, "report of this window", `${model}-${d.window.start}`)),
    card(`Reference vs current · ${shortTime(d.window.start)} – ${shortTime(d.window.end)}`, distributionChart(d)),
    at >= 0 ? card("Drift score over time", lineChart(view.windows, [{ values: view.drift_scores.scores[at], dots: true }], { threshold: 1, label: `drift score of ${column}` }),
      el("p", { class: "legend" }, "1 = the method's threshold; above it the column drifted in that window.")) : null,
  ];
}

// ---- main loop ---------------------------------------------------------------------

function sloCard(slo) {
  const state = slo.page ? badge("page", "bad") : slo.ticket ? badge("ticket", "warn") : slo.evaluated_by === "service" ? badge("ok", "ok") : null;
  const facts = el("table", { class: "facts" }, el("tbody", {},
    [["Good is", slo.good_is], ["Objective", `${number(slo.objective * 100, 6)}% over ${slo.period}`],
      ["Error budget left", slo.evaluated_by === "service" ? percent(slo.budget_remaining) : "—"],
      ["Alerts", slo.conditions.map((c) => `${c.severity} ${number(c.factor)}× over ${c.long} and ${c.short}`).join("; ")]]
      .map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))));
  if (slo.evaluated_by !== "service") {
    return card(`${slo.name} · ${slo.model}`, state, facts,
      el("p", { class: "muted" }, "A serving SLI, counted by the SDK's metrics in the model servers: evaluated by the Prometheus rules of `mlvigil slo export`."));
  }
  const points = slo.burn_down.map((p) => ({ start: p.time }));
  const left = slo.burn_down.map((p) => (p.budget_remaining === null ? null : Math.max(0, p.budget_remaining)));
  const burns = el("table", { class: "burn-rates" },
    el("thead", {}, el("tr", {}, slo.windows.map((w) => el("th", {}, w.window)))),
    el("tbody", {}, el("tr", {}, slo.windows.map((w) => el("td", { class: "num" }, w.burn_rate === null ? "—" : `${number(w.burn_rate)}×`)))));
  return card(`${slo.name} · ${slo.model}`, state, facts,
    el("div", { class: "slo-budget", "data-slo": slo.name },
      el("div", { class: "legend" }, "Error budget left over the period"),
      lineChart(points, [{ values: left }], { max: 1, label: `${slo.name} budget burn-down` })),
    el("div", { class: "legend" }, "Burn rate per window (1× spends the budget exactly over the period)"), burns);
}

async function renderSlos() {
  crumbs(["Models", "#/"], ["SLOs"]);
  const data = await api("slos");
  if (!data.slos.length) return [el("h1", {}, "SLOs"), el("p", { class: "muted" }, "No SLOs declared: add a slos: section to mlvigil.yaml (see the README).")];
  return [el("h1", {}, "SLOs"), el("div", { id: "slos" }, data.slos.map(sloCard))];
}

const PAGES = { overview: renderOverview, model: renderModel, feature: renderFeature, slos: renderSlos };
let rendering = 0;
let askingForToken = false;

async function render() {
  const ticket = ++rendering;
  const route = parseRoute();
  const error = document.getElementById("error");
  const main = document.getElementById("main");
  const signOutButton = document.getElementById("sign-out");
  try {
    const content = await PAGES[route.view](route);
    if (ticket !== rendering) return; // a newer navigation won
    askingForToken = false;
    // Typing in the search box re-renders the page: keep the box focused, caret in place.
    const focused = document.activeElement && document.activeElement.id ? document.activeElement : null;
    const caret = focused && typeof focused.selectionStart === "number" ? [focused.selectionStart, focused.selectionEnd] : null;
    main.replaceChildren(...content.flat().filter(Boolean));
    const again = focused && main.contains(focused) === false ? document.getElementById(focused.id) : null;
    if (again && again.tagName === focused.tagName) {
      again.focus();
      if (caret && typeof again.setSelectionRange === "function") again.setSelectionRange(...caret);
    }
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
    error.hidden = true;
  } catch (failure) {
    if (ticket !== rendering) return;
    if (failure instanceof NeedsToken) {
      askingForToken = true;
      main.replaceChildren(...tokenForm(failure.message));
      error.hidden = true;
      document.getElementById("token").focus();
    } else {
      error.textContent = `Could not load this page: ${failure.message}`;
      error.hidden = false;
    }
  }
  signOutButton.hidden = !storedToken();
}

window.addEventListener("hashchange", render);
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("sign-out").addEventListener("click", signOut);
  render();
  // No refresh while the token form is up: it would wipe what is being typed.
  // Nor while someone types a search (the page follows the box once they pause).
  const typing = () => document.activeElement && document.activeElement.id === "search";
  setInterval(() => { if (!document.hidden && !askingForToken && !typing() && parseRoute().view !== "feature") render(); }, REFRESH_MS);
});
