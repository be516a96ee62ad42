// segmentry send page: the live preview. While the message is typed, the member's message is
// asked of /api/segments/{key}/sends/preview (after a pause) and shown, or the template's
// error under the message with its line. The dry run and the send stay server-side forms.
"use strict";

(() => {
  const form = document.getElementById("send-form");
  if (!form) return;
  const labels = JSON.parse(form.dataset.labels);
  const csrf = document.body.dataset.csrf || "";
  const PAUSE_MS = 500;
  const $ = (id) => document.getElementById(id);
  let timer = null;
  let asked = 0;

  function showSubject() {
    $("subject-label").hidden = $("send-channel").value !== "email";
  }

  function request() {
    const email = $("send-channel").value === "email";
    return {
      channel: $("send-channel").value,
      body: $("send-body").value,
      subject: email ? $("send-subject").value || null : null,
      transactional: $("send-transactional").checked,
      language: $("send-language").value,
      customer_id: $("send-customer").value.trim() || null,
    };
  }

  function showError(error) {
    const box = $("error-body");
    box.hidden = !error;
    box.textContent = error ? error.message : "";
    box.dataset.code = error ? error.code : "";
    box.dataset.line = error && error.line ? String(error.line) : "";
    if (error && error.hint) {
      const hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = ` ${error.hint}`;
      box.append(hint);
    }
  }

  function showPreview(preview) {
    $("preview").hidden = false;
    $("preview-customer").textContent = preview.customer_id;
    const skipped = $("preview-skipped");
    skipped.hidden = !preview.skipped;
    skipped.textContent = preview.skipped
      ? `${labels.skipped} ${labels.reasons[preview.skipped] || preview.skipped}` : "";
    $("preview-subject").hidden = !preview.subject;
    $("preview-subject").textContent = preview.subject || "";
    $("preview-body").textContent = preview.body || "";
  }

  async function preview() {
    const wanted = request();
    if (!wanted.body.trim()) return;
    const mine = ++asked;
    const response = await fetch(form.dataset.previewUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(wanted),
    });
    if (mine !== asked) return; // a later keystroke asked again
    const answer = await response.json();
    if (response.ok) {
      showError(null);
      showPreview(answer);
    } else {
      showError(answer.error);
    }
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(preview, PAUSE_MS);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", (event) => {
    if (event.target.id === "send-channel") showSubject();
    later();
  });
  // The send button posts once: a second click would post the same key anyway.
  form.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (button && button.id === "send-button") {
      setTimeout(() => { button.disabled = true; }, 0);
    }
  });
  showSubject();
  // A message typed before this script arrived (a slow connection) or put back by the
  // browser (the back button) is previewed as well.
  if ($("send-body").value.trim() && $("preview").hidden) later();
})();
