// segmentry web app: charts, the builder's live validation and count, journey panels.
// Plain JavaScript, no build step; plotly.js is loaded only on pages with charts (base.html).
"use strict";

const csrf = () => document.body.dataset.csrf || "";
const lang = () => document.body.dataset.lang || "en";
const number = (n) => new Intl.NumberFormat(lang() === "ja" ? "ja-JP" : "en-US").format(n);
const PLOT_CONFIG = { displayModeBar: false, responsive: true };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

function drawCharts(root = document) {
  if (!window.Plotly) return;
  root.querySelectorAll("[data-figure]").forEach((node) => {
    if (node.dataset.rendered) return;
    const figure = JSON.parse(node.dataset.figure);
    Plotly.newPlot(node, figure.data, figure.layout, PLOT_CONFIG).then(() => {
      node.dataset.rendered = "1";
    });
  });
}

// ------------------------------------------------------------------ builder

function builder() {
  const query = document.getElementById("query");
  if (!query) return;
  const messages = JSON.parse(document.getElementById("builder-messages").textContent);
  const status = document.getElementById("query-status");
  const count = document.getElementById("count");
  const errorBox = document.getElementById("query-error");
  const echo = document.getElementById("query-echo");
  const sample = document.querySelector("#sample tbody");
  let timer = null;
  let sequence = 0;

  function showError(error) {
    errorBox.hidden = false;
    errorBox.textContent = "";
    const where = `${messages.line} ${error.line}, ${messages.column} ${error.column}: `;
    errorBox.append(el("span", { class: "where" }, where), error.message);
    if (error.suggestion) {
      const fix = el("button", { type: "button", class: "link suggestion" }, error.suggestion);
      fix.addEventListener("click", () => applySuggestion(error));
      errorBox.append(" ", messages.suggestion, " ", fix, "?");
    }
    if (error.hint) errorBox.append(el("div", { class: "hint" }, error.hint));
    // Underline the problem in a copy of the offending line.
    const lines = query.value.split("\n");
    const text = lines[Math.min(error.line, lines.length) - 1] || "";
    const start = Math.max(0, error.column - 1);
    const end = Math.max(start + 1, (error.end_column || error.column + 1) - 1);
    echo.textContent = "";
    echo.append(text.slice(0, start), el("mark", { class: "error-span" },
      text.slice(start, end) || " "), text.slice(end));
    echo.hidden = false;
    count.textContent = "";
    count.dataset.count = "";
    status.textContent = "";
  }

  function applySuggestion(error) {
    const lines = query.value.split("\n");
    const i = Math.min(error.line, lines.length) - 1;
    const line = lines[i];
    lines[i] = line.slice(0, error.column - 1) + error.suggestion + line.slice(error.end_column - 1);
    query.value = lines.join("\n");
    check();
  }

  function clearError() {
    errorBox.hidden = true;
    echo.hidden = true;
  }

  function showPreview(data) {
    clearError();
    status.textContent = `${messages.valid} `;
    count.textContent = `${number(data.count)} ${messages.members}`;
    count.dataset.count = String(data.count);
    sample.textContent = "";
    for (const m of data.sample) {
      const name = [m.last_name, m.first_name].filter(Boolean).join(" ");
      sample.append(el("tr", {}, el("td", {}, m.customer_id), el("td", {}, m.email || ""),
        el("td", {}, name)));
    }
  }

  async function check() {
    const text = query.value.trim();
    const mine = ++sequence;
    if (!text) { clearError(); status.textContent = ""; count.textContent = ""; return; }
    status.textContent = messages.checking;
    const response = await fetch("/api/preview", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ query: query.value }),
    });
    if (mine !== sequence) return; // a newer keystroke has its own request
    const data = await response.json();
    if (response.ok) showPreview(data);
    else if (data.error) showError(data.error);
  }

  query.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(check, 300);
  });
  document.querySelectorAll("button.template").forEach((button) => {
    button.addEventListener("click", () => {
      const name = document.getElementById("name");
      if (!name.readOnly) name.value = button.dataset.name;
      document.getElementById("description").value = button.dataset.description;
      query.value = button.dataset.query;
      check();
    });
  });
  picker(query, check);
  if (query.value.trim()) check();
}

// The point-and-click condition builder: it only ever writes query text.
const OPERATORS = {
  integer: ["=", "!=", ">", ">=", "<", "<="],
  number: ["=", ">", ">=", "<", "<="],
  money: [">=", ">", "<", "<=", "="],
  date: [">", "<", ">=", "<=", "="],
  string: ["=", "!="],
  enum: ["=", "!="],
  "string list": ["CONTAINS", "NOT CONTAINS"],
  boolean: ["="],
};

function picker(query, check) {
  const root = document.getElementById("picker");
  if (!root) return;
  const attributes = JSON.parse(root.dataset.attributes);
  const attribute = document.getElementById("pick-attribute");
  const operator = document.getElementById("pick-operator");
  const slot = document.getElementById("pick-value-slot");

  function refresh() {
    const spec = attributes.find((a) => a.name === attribute.value);
    operator.textContent = "";
    for (const op of OPERATORS[spec.kind] || ["="]) operator.append(el("option", {}, op));
    slot.textContent = "";
    let input;
    if (spec.kind === "boolean" || spec.values.length) {
      input = el("select", { id: "pick-value" });
      for (const v of spec.kind === "boolean" ? ["true", "false"] : spec.values) {
        input.append(el("option", {}, v));
      }
    } else {
      const placeholder = spec.kind === "date" ? "-30d" : "";
      input = el("input", { id: "pick-value", placeholder });
    }
    slot.append(input);
  }

  document.getElementById("pick-add").addEventListener("click", () => {
    const spec = attributes.find((a) => a.name === attribute.value);
    let value = document.getElementById("pick-value").value.trim();
    const quoted = ["string", "enum", "string list"].includes(spec.kind);
    const relative = /^-?\d+[dwmy]$|^today$|^yesterday$/.test(value);
    if (quoted || (spec.kind === "date" && !relative && !/^\d{4}-\d{2}-\d{2}$/.test(value))) {
      value = `'${value.replaceAll("'", "\\'")}'`;
    }
    const condition = `${spec.name} ${operator.value} ${value}`;
    query.value = query.value.trim() ? `${query.value.trim()} AND ${condition}` : condition;
    check();
  });
  attribute.addEventListener("change", refresh);
  refresh();
}

// ------------------------------------------------------------------ journeys

function sharesTable(rows, labels) {
  const table = el("table", { class: "shares" });
  table.append(el("thead", {}, el("tr", {}, el("th", {}, ""),
    el("th", { class: "num" }, labels.customers), el("th", { class: "num" }, labels.share))));
  const body = el("tbody");
  for (const r of rows) {
    const bar = el("span", { class: "bar", style: `width:${Math.round(r.share * 100)}%` });
    body.append(el("tr", {}, el("td", {}, r.value), el("td", { class: "num" }, number(r.customers)),
      el("td", { class: "num share" }, bar, `${(r.share * 100).toFixed(1)}%`)));
  }
  table.append(body);
  return table;
}

async function journeys() {
  const root = document.getElementById("journeys");
  if (!root) return;
  const labels = JSON.parse(root.dataset.labels);
  const response = await fetch(root.dataset.url, { headers: { Accept: "application/json" } });
  const data = await response.json();
  root.textContent = "";
  if (!response.ok) { root.append(el("p", { class: "error" }, data.error.message)); return; }
  for (const [n, title] of [["1", labels.first], ["2", labels.second]]) {
    const panel = data.orders[n];
    const column = el("div", { class: "journey", "data-order": n });
    column.append(el("h3", {}, `${title} · ${number(panel.customers)} ${labels.placed}`));
    if (!panel.customers) column.append(el("p", { class: "muted" }, labels.none));
    for (const key of ["products", "product_types", "channels"]) {
      if (!panel[key].length) continue;
      column.append(el("h4", {}, labels[key]), sharesTable(panel[key], labels));
    }
    root.append(column);
  }
  const gap = data.days_to_second_order;
  const chart = el("div", { class: "chart", id: "chart-days-to-second" });
  const median = gap.median === null ? "" : ` (${labels.median} ${gap.median} ${labels.days})`;
  chart.dataset.figure = JSON.stringify({
    data: [{ type: "bar", x: gap.buckets.map((b) => b.days), y: gap.buckets.map((b) => b.customers),
      marker: { color: "#2563eb" } }],
    layout: { title: { text: labels.gap + median, x: 0, font: { size: 14 } }, height: 260,
      margin: { l: 48, r: 12, t: 36, b: 40 }, xaxis: { type: "category" },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" },
  });
  const wrap = el("div", { class: "journey gap" }, chart);
  root.append(wrap);
  root.dataset.loaded = "1";
  drawCharts(root);
}

document.addEventListener("DOMContentLoaded", () => {
  drawCharts();
  builder();
  journeys();
});
