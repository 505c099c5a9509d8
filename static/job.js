// Keeps a job page current: polls the job's state once a second until it finishes.
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root) { return; }
  var url = root.getAttribute("data-state-url");

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function setStats(prefix, stats) {
    Object.keys(stats || {}).forEach(function (key) { setText(prefix + key, stats[key]); });
  }

  function renderWarnings(warnings) {
    var list = document.getElementById("job-warnings");
    if (!list) { return; }
    list.textContent = "";
    (warnings || []).forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    var box = document.getElementById("job-warnings-box");
    if (box) { box.hidden = !(warnings && warnings.length); }
  }

  function render(state) {
    if (state.status === "needs_review") {  // the analysis is done: on to the review page
      window.location.assign(root.getAttribute("data-review-url"));
      return;
    }
    var status = document.getElementById("job-status");
    status.textContent = state.status;
    status.className = "status status-" + state.status;
    setText("job-stage", state.stage);
    document.getElementById("job-progress").value = state.progress;
    setText("job-progress-text", state.progress + "%");
    Object.keys(state.counts).forEach(function (key) { setText("count-" + key, state.counts[key]); });
    setStats("validation-", state.validation_stats);
    setStats("database-", state.database_stats);
    renderWarnings(state.warnings);
    if (state.processing_duration_ms !== null && state.processing_duration_ms !== undefined) {
      setText("job-duration", (state.processing_duration_ms / 1000).toFixed(1) + " s");
    }
    var note = document.getElementById("job-mapping-note");
    if (note) {
      note.textContent = state.mapping_note || "";
      note.hidden = !state.mapping_note;
    }
    var report = document.getElementById("job-report");
    if (report) { report.hidden = !state.has_error_report; }
    var error = document.getElementById("job-error");
    error.textContent = state.error_message || "";
    error.hidden = !state.error_message;
    root.setAttribute("data-finished", state.finished ? "true" : "false");
    document.dispatchEvent(new CustomEvent("job:state", { detail: state }));
  }

  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state) { render(state); }
        var waiting = state && (state.finished || state.status === "needs_review");
        if (!waiting) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }

  if (root.getAttribute("data-finished") !== "true") { window.setTimeout(poll, 500); }
})();
