// segmentry web app: charts, the builder's live validation and count, journey panels.
// Plain JavaScript, no build step; plotly.js is loaded only on pages with charts (base.html).
"use strict";

const csrf = () => document.body.dataset.csrf || "";
const lang = () => document.body.dataset.lang || "en";
const number = (n) => new Intl.NumberFormat(lang() === "ja" ? "ja-JP" : "en-US").format(n);
const PLOT_CONFIG = { displayModeBar: false, responsive: true };

// A button that only works with this script is disabled in the page until its handler is
// bound, so a click before the script has loaded is not silently lost.
function bind(button, handler) {
  button.addEventListener("click", handler);
  button.disabled = false;
}

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
  const sampleStatus = document.getElementById("sample-status");
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
    clearSample(true);
  }

  // The sample always belongs to the query as it is now: none while it is in error or empty.
  function clearSample(because) {
    sample.textContent = "";
    sampleStatus.hidden = !because;
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
    if (data.read_as) status.append(el("span", { id: "read-as" }, `${messages.read_as}: ${data.read_as} `));
    if (data.full_width_text.length) {
      status.append(el("div", { id: "full-width-note", class: "hint" },
        `${messages.full_width}: ${data.full_width_text.join(", ")}`));
    }
    if (data.no_events && data.no_events.length) {
      status.append(el("div", { id: "no-events-note", class: "hint" },
        `${messages.no_events}: ${data.no_events.join(", ")}`));
    }
    count.textContent = `${number(data.count)} ${messages.members}`;
    count.dataset.count = String(data.count);
    clearSample(false);
    for (const m of data.sample) {
      const name = [m.last_name, m.first_name].filter(Boolean).join(" ");
      sample.append(el("tr", {}, el("td", {}, m.customer_id), el("td", {}, m.email || ""),
        el("td", {}, name)));
    }
  }

  async function check() {
    const text = query.value.trim();
    const mine = ++sequence;
    if (!text) {
      clearError(); clearSample(false); status.textContent = ""; count.textContent = "";
      count.dataset.count = ""; return;
    }
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
  names(messages);
  picker(query, check);
  editorSuggestions(query, check);
  if (query.value.trim()) check();
}

// The name and key: a template offers its own, made free ("Repeat customers 2", "loyal-2");
// a name or key another segment uses is flagged before saving.
function freeName(base, taken, separator) {
  let candidate = base;
  for (let n = 2; taken.includes(candidate); n++) candidate = `${base}${separator}${n}`;
  return candidate;
}

function names(messages) {
  const form = document.getElementById("builder-form");
  const name = document.getElementById("name");
  const key = document.getElementById("key");
  const problem = document.getElementById("name-error");
  const taken = JSON.parse(form.dataset.taken);
  const editing = form.dataset.editing === "true";

  function checkNames() {
    const found = [];
    if (taken.names.includes(name.value.trim())) found.push(messages.duplicate_name);
    // Editing: `taken` leaves out this segment's own key, so a changed key is checked too.
    if (taken.keys.includes(key.value.trim())) found.push(messages.duplicate_key);
    problem.textContent = found.join(" ");
    problem.hidden = !found.length;
    // While the save's job runs (static/jobs.js), the button waits for it.
    const job = document.getElementById("job");
    const saving = job && ["queued", "running"].includes(job.dataset.status);
    document.getElementById("save").disabled = found.length > 0 || Boolean(saving);
  }

  name.addEventListener("input", () => {
    if (key.dataset.auto) { key.value = ""; delete key.dataset.auto; } // made from the name
    checkNames();
  });
  key.addEventListener("input", () => { delete key.dataset.auto; checkNames(); });
  document.querySelectorAll("button.template").forEach((button) => {
    bind(button, () => {
      if (!editing) {
        name.value = freeName(button.dataset.title, taken.names, " ");
        key.value = freeName(button.dataset.name, taken.keys, "-");
        key.dataset.auto = "1";
      }
      document.getElementById("description").value = button.dataset.description;
      const query = document.getElementById("query");
      query.value = button.dataset.query;
      query.dispatchEvent(new Event("input"));
      checkNames();
    });
  });
  checkNames();
}

// The point-and-click condition builder: it only ever writes query text. Attributes,
// functions, their arguments and operators come from the language's catalogue (/api/picker);
// text values autocomplete from the store's own data (/api/values).
const QUOTED = ["string", "enum", "string list", "segment list"];
const NUMERIC = ["integer", "number", "money"];

// A value as the query language writes it: text quoted, numbers plain (full-width digits,
// ¥ and 円 and thousands separators removed), dates and true/false as typed.
function literal(kind, raw) {
  const value = raw.normalize("NFKC").trim();
  if (QUOTED.includes(kind)) return `'${raw.trim().replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  if (NUMERIC.includes(kind)) return value.replace(/[¥円,\s]/g, "");
  return value;
}

// Where the query's top-level AND / OR keywords are (outside quotes and parentheses; the AND
// of BETWEEN … AND … is not a joiner).
function topLevel(text) {
  const found = { and: [], or: [] };
  let depth = 0, quote = false, between = 0;
  const word = /[A-Za-z_0-9]/;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) { if (c === "\\") i++; else if (c === "'") quote = false; continue; }
    if (c === "'") { quote = true; continue; }
    if (c === "(") { depth++; continue; }
    if (c === ")") { depth--; continue; }
    if (depth || !word.test(c) || (i && word.test(text[i - 1]))) continue;
    const token = (text.slice(i).match(/^[A-Za-z_0-9]+/) || [""])[0].toUpperCase();
    if (token === "BETWEEN") between++;
    else if (token === "AND" && between) between--;
    else if (token === "AND") found.and.push(i);
    else if (token === "OR") found.or.push(i);
    i += token.length - 1;
  }
  return found;
}

function wrapped(text) {
  // "(…)" whose opening parenthesis closes at the very end.
  if (!text.startsWith("(") || !text.endsWith(")")) return false;
  let depth = 0, quote = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) { if (c === "\\") i++; else if (c === "'") quote = false; continue; }
    if (c === "'") quote = true;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0 && i < text.length - 1) return false;
  }
  return true;
}

// Add `condition` to `query`: AND keeps every earlier condition; OR makes it an alternative to
// the last AND-joined condition (or group), so `a AND b` + OR c is `a AND (b OR c)`.
function joinCondition(query, condition, mode) {
  const q = query.trim();
  if (!q) return condition;
  const { and, or } = topLevel(q);
  if (mode === "AND") return or.length ? `(${q}) AND ${condition}` : `${q} AND ${condition}`;
  if (or.length || !and.length) return `${q} OR ${condition}`;
  const cut = and[and.length - 1];
  const head = q.slice(0, cut).trimEnd();
  const tail = q.slice(cut + 3).trim();
  if (wrapped(tail) && topLevel(tail.slice(1, -1)).or.length) {
    return `${head} AND ${tail.slice(0, -1)} OR ${condition})`;
  }
  return `${head} AND (${tail} OR ${condition})`;
}

function picker(query, check) {
  const root = document.getElementById("picker");
  if (!root) return;
  const catalogue = JSON.parse(root.dataset.picker);
  const labels = JSON.parse(root.dataset.labels);
  const what = document.getElementById("pick-what");
  const operator = document.getElementById("pick-operator");
  const slot = document.getElementById("pick-value-slot");
  const args = document.getElementById("pick-arguments");
  let lists = 0;

  const attributeOf = (name) => catalogue.attributes.find((a) => a.name === name);
  const functionOf = (name) => catalogue.functions.find((f) => f.name === name);

  // A value input for `spec` (an attribute or argument) fed by the store's values.
  function valueInput(spec, field, cls) {
    if (spec.kind === "boolean" || (spec.values && spec.values.length)) {
      const select = el("select", { class: cls });
      for (const v of spec.kind === "boolean" ? ["true", "false"] : spec.values) {
        select.append(el("option", {}, v));
      }
      return select;
    }
    const placeholder = spec.kind === "date" ? "-30d" : NUMERIC.includes(spec.kind) ? "0" : "";
    const input = el("input", { class: cls, placeholder, autocomplete: "off" });
    if (!spec.suggest) return input;
    const list = el("datalist", { id: `pick-values-${++lists}` });
    input.setAttribute("list", list.id);
    input.dataset.field = field;
    let timer = null;
    const suggest = async () => {
      const url = `/api/values?attribute=${encodeURIComponent(field)}` +
        `&prefix=${encodeURIComponent(input.value)}&limit=30`;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const data = await response.json();
      list.textContent = "";
      for (const v of data.values) {
        const option = el("option", { value: v.value });
        if (v.label) option.textContent = v.label;
        list.append(option);
      }
      input.dataset.suggested = String(data.values.length);
    };
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(suggest, 150); });
    input.addEventListener("focus", suggest, { once: true });
    const wrap = el("span", { class: "pick-input" }, input, list);
    return wrap;
  }

  // Operator select + value input(s) for `spec`; returns a function writing "op value".
  function test(spec, field, operatorSelect, valueSlot) {
    operatorSelect.textContent = "";
    for (const op of spec.operators) operatorSelect.append(el("option", { value: op }, op));
    const draw = () => {
      valueSlot.textContent = "";
      const op = operatorSelect.value;
      if (op === "IS NULL" || op === "IS NOT NULL") return;
      valueSlot.append(valueInput(spec, field, "pick-value"));
      if (op === "BETWEEN") {
        valueSlot.append(" – ", valueInput(spec, field, "pick-value"));
      }
    };
    operatorSelect.onchange = draw;
    draw();
    return () => {
      const op = operatorSelect.value;
      const values = [...valueSlot.querySelectorAll(".pick-value")].map((v) => literal(spec.kind, v.value));
      if (op === "IS NULL" || op === "IS NOT NULL") return op;
      if (op === "BETWEEN") return `BETWEEN ${values[0]} AND ${values[1]}`;
      return `${op} ${values[0]}`;
    };
  }

  let writeAttribute = () => "";
  const rows = [];

  function addArgument(fn, name) {
    const select = el("select", { class: "pick-argument" });
    for (const a of fn.arguments) {
      if (a.name !== "order_number") select.append(el("option", { value: a.name }, labels[a.name] || a.name));
    }
    if (name) select.value = name;
    const ops = el("select", { class: "pick-operator" });
    const values = el("span", { class: "pick-values" });
    const remove = el("button", { type: "button", class: "link pick-remove", "aria-label": root.dataset.remove }, "×");
    const row = el("div", { class: "pick-row pick-argument-row" }, select, ops, values, remove);
    const entry = { row, write: null };
    const draw = () => {
      const spec = fn.arguments.find((a) => a.name === select.value);
      const written = test(spec, `${fn.name}.${spec.name}`, ops, values);
      entry.write = () => `${spec.name} ${written()}`;
    };
    select.addEventListener("change", draw);
    remove.addEventListener("click", () => { row.remove(); rows.splice(rows.indexOf(entry), 1); });
    draw();
    rows.push(entry);
    args.append(row);
  }

  function refresh() {
    const fn = functionOf(what.value);
    document.getElementById("pick-attribute").hidden = Boolean(fn);
    document.getElementById("pick-function").hidden = !fn;
    args.textContent = "";
    rows.length = 0;
    if (fn) {
      const first = fn.arguments.find((a) => a.suggest);
      if (first) addArgument(fn, first.name);
      return;
    }
    writeAttribute = test(attributeOf(what.value), what.value, operator, slot);
  }

  function condition() {
    const fn = functionOf(what.value);
    if (!fn) return `${what.value} ${writeAttribute()}`;
    const parts = rows.map((r) => r.write());
    const order = document.getElementById("pick-order").value;
    if (order) parts.push(`order_number ${order}`);
    return `${fn.name} ${document.getElementById("pick-match").value} (${parts.join(", ")})`;
  }

  bind(document.getElementById("pick-add-argument"), () => {
    addArgument(functionOf(what.value));
  });
  bind(document.getElementById("pick-add"), () => {
    query.value = joinCondition(query.value, condition(), document.getElementById("pick-join").value);
    check();
  });
  what.addEventListener("change", refresh);
  refresh();
}

// Suggestions while typing in the query editor, as Shopify's editor offers them: names of
// attributes and functions (and a function's arguments inside its parentheses), and, inside a
// quote after a name and an operator, the store's values of that name.
const VALUE_BEFORE = /([a-z_]+)\s*(?:(?:NOT\s+)?CONTAINS|STARTS\s+WITH|!=|=|:)\s*'((?:[^'\\]|\\.)*)$/i;
const OPEN_CALL = /([a-z_]+)\s*(?:(?:NOT\s+)?MATCHES\s*)?\(([^()]*)$/i;

function completionContext(before, catalogue) {
  const call = before.match(OPEN_CALL);
  const fn = call && catalogue.functions.find((f) => f.name === call[1]);
  const value = before.match(VALUE_BEFORE);
  if (value) {
    const field = fn ? `${fn.name}.${value[1]}` : value[1];
    return { kind: "value", field, typed: value[2].replaceAll("\\'", "'") };
  }
  if (/'/.test(before.replace(/'(?:[^'\\\n]|\\.)*'/g, ""))) return null; // inside a string
  const word = before.match(/([a-z_]+)$/i);
  if (!word) return null;
  const names = fn
    ? fn.arguments.map((a) => a.name)
    : [...catalogue.attributes.map((a) => a.name), ...catalogue.functions.map((f) => f.name)];
  const typed = word[1].toLowerCase();
  const found = names.filter((n) => n.startsWith(typed) && n !== typed);
  return found.length ? { kind: "name", typed: word[1], names: found.slice(0, 12) } : null;
}

function editorSuggestions(query, check) {
  const root = document.getElementById("picker");
  const box = document.getElementById("query-suggestions");
  if (!root || !box) return;
  const catalogue = JSON.parse(root.dataset.picker);
  const labels = JSON.parse(root.dataset.labels);
  let sequence = 0;

  function insert(typedLength, text) {
    const at = query.selectionStart;
    query.value = query.value.slice(0, at - typedLength) + text + query.value.slice(at);
    const caret = at - typedLength + text.length;
    query.setSelectionRange(caret, caret);
    query.focus();
    box.hidden = true;
    check();
  }

  function show(items) {
    box.textContent = "";
    for (const [text, label, pick] of items) {
      const button = el("button", { type: "button", class: "suggestion-item", role: "option",
        "data-value": text }, label);
      button.addEventListener("click", pick);
      box.append(el("li", {}, button));
    }
    box.hidden = !items.length;
  }

  async function update() {
    const mine = ++sequence;
    const context = completionContext(query.value.slice(0, query.selectionStart), catalogue);
    if (!context) { box.hidden = true; return; }
    if (context.kind === "name") {
      show(context.names.map((n) => [n, labels[n] || n, () => insert(context.typed.length, n)]));
      return;
    }
    const url = `/api/values?attribute=${encodeURIComponent(context.field)}` +
      `&prefix=${encodeURIComponent(context.typed)}&limit=12`;
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (mine !== sequence) return;
    if (!response.ok) { box.hidden = true; return; }
    const data = await response.json();
    const typedRaw = query.value.slice(0, query.selectionStart).match(VALUE_BEFORE)[2];
    show(data.values.map((v) => [v.value, v.label ? `${v.value} — ${v.label}` : v.value,
      () => insert(typedRaw.length, `${v.value.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`)]));
  }

  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(update, 120); };
  query.addEventListener("input", later);
  query.addEventListener("click", later);
  query.addEventListener("keydown", (event) => {
    if (box.hidden) return;
    if (event.key === "Escape") box.hidden = true;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      box.querySelector("button").focus();
    }
  });
  box.addEventListener("keydown", (event) => {
    const items = [...box.querySelectorAll("button")];
    const i = items.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && i < items.length - 1) { event.preventDefault(); items[i + 1].focus(); }
    if (event.key === "ArrowUp") { event.preventDefault(); (i > 0 ? items[i - 1] : query).focus(); }
    if (event.key === "Escape") { box.hidden = true; query.focus(); }
  });
}

// ------------------------------------------------------------------ journeys

function sharesTable(rows, labels) {
  const table = el("table", { class: "shares" });
  table.append(el("thead", {}, el("tr", {}, el("th", {}, ""),
    el("th", { class: "num" }, labels.customers), el("th", { class: "num" }, labels.share))));
  const body = el("tbody");
  for (const r of rows) {
    const bar = el("span", { class: "bar", style: `width:${Math.round(r.share * 100)}%` });
    const name = el("td", { "data-value": r.value }, r.label || r.value);
    body.append(el("tr", {}, name, el("td", { class: "num" }, number(r.customers)),
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
    if (!panel.customers) column.append(el("p", { class: "muted" }, n === "2" ? labels.no_second : labels.none));
    for (const key of ["products", "product_types", "channels"]) {
      if (!panel[key].length) continue;
      column.append(el("h4", {}, labels[key]), sharesTable(panel[key], labels));
    }
    root.append(column);
  }
  const gap = data.days_to_second_order;
  if (!gap.buckets.some((b) => b.customers)) {
    // No member has a 2nd order: say so rather than draw an empty axis.
    root.append(el("div", { class: "journey gap" },
      el("p", { class: "muted", id: "no-second-orders" }, labels.no_second)));
    root.dataset.loaded = "1";
    return;
  }
  const chart = el("div", { class: "chart", id: "chart-days-to-second" });
  const median = gap.median === null ? "" : ` (${labels.median} ${gap.median} ${labels.days})`;
  chart.dataset.figure = JSON.stringify({
    data: [{ type: "bar", x: gap.buckets.map((b) => b.days), y: gap.buckets.map((b) => b.customers),
      marker: { color: "#2563eb" } }],
    layout: { title: { text: labels.gap + median, x: 0, font: { size: 14 } }, height: 260,
      margin: { l: 48, r: 16, t: 36, b: 40 }, xaxis: { type: "category", automargin: true },
      yaxis: { automargin: true, rangemode: "tozero" },
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)" },
  });
  const wrap = el("div", { class: "journey gap" }, chart);
  root.append(wrap);
  root.dataset.loaded = "1";
  drawCharts(root);
}

// The segment page's day: choosing one shows the page as of that day.
function dayPicker() {
  const input = document.getElementById("day");
  if (input) input.addEventListener("change", () => { if (input.checkValidity()) input.form.requestSubmit(); });
}

// Wide tables marked data-stack: each cell learns its column's heading (data-label), and the
// table is marked stacked; on a phone the CSS then shows each row as a card of "heading: value"
// lines, every figure visible without scrolling sideways. Without script the table scrolls.
function stackTables() {
  document.querySelectorAll("table[data-stack]").forEach((table) => {
    const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    table.querySelectorAll("tbody tr").forEach((row) => {
      [...row.cells].forEach((cell, i) => { if (heads[i]) cell.dataset.label = heads[i]; });
    });
    table.classList.add("stacked");
  });
}

document.addEventListener("DOMContentLoaded", () => {
  stackTables();
  dayPicker();
  drawCharts();
  builder();
  journeys();
});

// Forms that ask first (data-confirm) or never post (data-no-submit): here rather than in
// inline handlers, which the Content-Security-Policy (script-src 'self') blocks.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (form.hasAttribute("data-no-submit")) event.preventDefault();
  else if (form.dataset.confirm && !confirm(form.dataset.confirm)) event.preventDefault();
});
