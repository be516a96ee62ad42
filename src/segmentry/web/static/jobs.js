// segmentry background jobs: progress of "Run now", tag syncs, recomputes and the builder's
// saves (polls /api/jobs/{id}), the tag-sync section of a segment's page (dry run, then sync
// or stop) and its "Recompute history" button.
"use strict";

(() => {
  const csrf = () => document.body.dataset.csrf || "";
  const lang = () => document.body.dataset.lang || "en";
  const number = (n) => new Intl.NumberFormat(lang() === "ja" ? "ja-JP" : "en-US").format(n);
  const POLL_MS = 1000;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    for (const c of children) node.append(c);
    return node;
  }

  // ---------------------------------------------------------------- job progress

  function showJob(root, job) {
    const labels = JSON.parse(root.dataset.labels);
    root.hidden = false;
    root.dataset.job = String(job.id);
    root.dataset.status = job.status;
    const status = root.querySelector("#job-status");
    status.className = `status ${job.status}`;
    status.textContent = labels[job.status] || job.status;
    const kind = labels[job.kind] || job.kind;
    const suffix = job.trigger === "schedule" ? ` (${labels.schedule})` : "";
    root.querySelector("#job-kind").textContent = `${kind}${job.subject ? ` · ${job.subject}` : ""}${suffix}`;
    // The stage under way, or the one a failed job stopped in.
    const stage = job.status === "succeeded" ? "" : job.stage;
    root.querySelector("#job-stage").textContent = stage ? (labels[stage] || stage) : "";
    const bar = root.querySelector("#job-bar");
    bar.max = Math.max(job.total, 1);
    bar.value = job.status === "succeeded" ? bar.max : job.done;
    root.querySelector("#job-count").textContent = job.total ? `${number(job.done)} / ${number(job.total)}` : "";
    // The failure in the reader's language (error_detail); a job without one says it in English.
    const error = root.querySelector("#job-error");
    const failure = job.error_detail || (job.error ? { message: job.error } : null);
    error.hidden = !failure;
    error.textContent = failure ? failure.message : "";
    if (failure && failure.hint) error.append(el("div", { class: "hint" }, failure.hint));
  }

  async function watch(root, id) {
    const response = await fetch(`/api/jobs/${id}`, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const job = await response.json();
    showJob(root, job);
    if (job.status === "queued" || job.status === "running") {
      setTimeout(() => watch(root, id), POLL_MS);
    } else {
      finished(root, job);
    }
  }

  function finished(root, job) {
    for (const id of ["run-now", "recompute", "save"]) {
      const button = document.getElementById(id);
      if (button) button.disabled = false;
    }
    // A saved segment: its page, once it exists; a failure stays here, next to the form.
    if (root.dataset.next) {
      if (job.status === "succeeded") window.location.assign(root.dataset.next);
      return;
    }
    // The runs table or the tag-sync status shows the result (a failure too); the reloaded
    // page shows this job, finished, without watching it again.
    window.location.reload();
  }

  function jobPanel() {
    const root = document.getElementById("job");
    if (!root) return null;
    const status = root.dataset.status;
    if (root.dataset.job) {
      fetch(`/api/jobs/${root.dataset.job}`, { headers: { Accept: "application/json" } })
        .then((r) => (r.ok ? r.json() : null))
        .then((job) => {
          if (!job) return;
          showJob(root, job);
          if (status === "queued" || status === "running") watch(root, job.id);
        });
    }
    return root;
  }

  // ---------------------------------------------------------------- tag sync

  function tagSync(jobRoot) {
    const root = document.getElementById("tag-sync");
    if (!root) return;
    const labels = JSON.parse(root.dataset.labels);
    const input = document.getElementById("tag-sync-input");
    const create = document.getElementById("tag-sync-create");
    const adopt = document.getElementById("tag-sync-adopt");
    const errorBox = document.getElementById("tag-sync-error");
    const plan = document.getElementById("tag-plan");
    const summary = document.getElementById("tag-plan-summary");
    const rows = document.querySelector("#tag-plan-table tbody");
    const runButton = document.getElementById("tag-sync-run");
    const clearButton = document.getElementById("tag-clear-run");

    function showError(data) {
      const error = (data && data.error) || { message: String(data) };
      errorBox.hidden = false;
      errorBox.textContent = error.message;
      if (error.hint) errorBox.append(el("div", { class: "hint" }, error.hint));
    }

    async function call(url, options = {}) {
      errorBox.hidden = true;
      const response = await fetch(url, {
        ...options,
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      });
      const data = await response.json();
      if (!response.ok) { showError(data); return null; }
      return data;
    }

    function showPlan(data, clearing) {
      plan.hidden = false;
      plan.dataset.adds = String(data.adds);
      plan.dataset.removes = String(data.removes);
      const parts = [`${labels.adds}: ${number(data.adds)}`, `${labels.removes}: ${number(data.removes)}`];
      summary.textContent = parts.join(" · ");
      if (!data.adds && !data.removes) summary.append(el("div", { class: "muted" }, labels.nothing));
      if (clearing) summary.append(el("div", { class: "muted" }, labels.clear));
      rows.textContent = "";
      const add = (c, sign, label) => {
        const name = [c.last_name, c.first_name].filter(Boolean).join(" ");
        const change = c.tags.map((t) => `${sign}${t}`).join(" ");
        rows.append(el("tr", { "data-change": label }, el("td", {}, c.customer_id),
          el("td", {}, c.email || ""), el("td", {}, name), el("td", {}, change)));
      };
      data.sample_adds.forEach((c) => add(c, "+", "add"));
      data.sample_removes.forEach((c) => add(c, "−", "remove"));
      runButton.hidden = clearing;
      clearButton.hidden = !clearing;
    }

    // Disabled in the page until bound here (a click before the script loaded did nothing).
    const preview = document.getElementById("tag-sync-preview");
    preview.disabled = false;
    preview.addEventListener("click", async () => {
      const params = new URLSearchParams({ tag: input.value.trim(), adopt: String(adopt.checked) });
      const data = await call(`${root.dataset.planUrl}?${params}`);
      if (data) showPlan(data, false);
    });
    const stop = document.getElementById("tag-sync-stop");
    if (stop) {
      stop.disabled = false;
      stop.addEventListener("click", async () => {
        const data = await call(`${root.dataset.planUrl}?clear=true`);
        if (data) showPlan(data, true);
      });
    }

    async function start(url, body) {
      const job = await call(url, { method: "POST", body: JSON.stringify(body) });
      if (!job) return;
      runButton.hidden = true;
      clearButton.hidden = true;
      showJob(jobRoot, job);
      watch(jobRoot, job.id);
    }

    runButton.addEventListener("click", () => start(root.dataset.syncUrl, {
      tag: input.value.trim(), create_shopify_segment: create.checked, adopt: adopt.checked,
    }));
    clearButton.addEventListener("click", () => start(root.dataset.clearUrl, {}));

    // A sync of this segment already under way (started elsewhere): show its progress.
    fetch("/api/jobs", { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((list) => {
        const job = list && list.current;
        if (job && job.subject === root.dataset.segment && job.kind.startsWith("tag_")) {
          showJob(jobRoot, job);
          watch(jobRoot, job.id);
        }
      });
  }

  // ---------------------------------------------------------------- recompute history

  function recompute(jobRoot) {
    const form = document.getElementById("recompute-form");
    if (!form || !jobRoot) return;
    const button = document.getElementById("recompute");
    const errorBox = document.getElementById("recompute-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault(); // the form posts without JavaScript; here the page polls instead
      button.disabled = true;
      errorBox.hidden = true;
      const response = await fetch(form.dataset.url, {
        method: "POST", headers: { Accept: "application/json", "X-CSRF-Token": csrf() },
      });
      const data = await response.json();
      if (!response.ok) {
        const error = data.error || { message: String(response.status) };
        errorBox.textContent = error.message;
        if (error.hint) errorBox.append(el("div", { class: "hint" }, error.hint));
        errorBox.hidden = false;
        button.disabled = false;
        return;
      }
      showJob(jobRoot, data);
      watch(jobRoot, data.id);
    });
    // A recompute of this segment already under way: show its progress.
    fetch("/api/jobs", { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((list) => {
        const job = list && list.current;
        if (job && job.kind === "recompute" && job.subject === form.dataset.segment) {
          button.disabled = true;
          showJob(jobRoot, job);
          watch(jobRoot, job.id);
        }
      });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const jobRoot = jobPanel();
    tagSync(jobRoot);
    recompute(jobRoot);
  });
})();
