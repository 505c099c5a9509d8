// Keeps a job page current: polls the job's state once a second until it finishes.
(function () {
  "use strict";
  var root = document.getElementById("job");
  if (!root) { return; }
  var url = root.getAttribute("data-state-url");
  var fmt = window.bulkappFormat;
  var STAGES = ["parsing", "validating", "saving", "finalizing"];

  function setText(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function show(id, visible) {
    var el = document.getElementById(id);
    if (el) { el.hidden = !visible; }
  }

  function renderWarnings(warnings) {
    var list = document.getElementById("job-warnings");
    list.textContent = "";
    (warnings || []).forEach(function (text) {
      var item = document.createElement("li");
      item.textContent = text;
      list.appendChild(item);
    });
    show("job-warnings-box", warnings && warnings.length);
  }

  function renderCounts(state) {
    var counts = state.counts;
    ["processed", "valid", "invalid", "inserted", "updated", "unchanged"].forEach(function (key) {
      setText("count-" + key, fmt.number(counts[key]));
    });
    setText("count-duplicates", fmt.number(state.validation_stats.duplicates || 0));
    setText("count-not-saved", fmt.number(state.database_stats.failed || 0));
    var undone = state.undo_counts || {};
    ["removed", "restored", "kept"].forEach(function (key) {
      if (key in undone) { setText("count-" + key, fmt.number(undone[key])); }
    });
    var estimate = state.estimated_rows;
    var estimated = !state.finished && estimate && estimate > counts.total;
    setText("count-total", estimated ? "about " + fmt.number(estimate) : fmt.number(counts.total));
    show("count-of", counts.total || estimate);
  }

  // Stages done, the current one, and the time each took (live).
  function renderStages(state) {
    var current = STAGES.indexOf(state.stage);
    STAGES.forEach(function (stage, index) {
      var item = document.querySelector('#job-stages [data-stage="' + stage + '"]');
      if (!item) { return; }  // an undo's page lists no import stages
      var seconds = (state.stage_timings || {})[stage];
      item.querySelector(".stage-time").textContent = seconds ? fmt.duration(seconds) : "";
      var done = state.status === "completed" || (current >= 0 && index < current);
      item.className = done ? "done" : (index === current && !state.finished ? "current" : "");
    });
  }

  function renderPace(state) {
    show("job-pace", state.rows_per_second);
    setText("job-rate", fmt.number(state.rows_per_second));
    show("job-left-box", state.seconds_left !== null && state.seconds_left !== undefined);
    setText("job-left", fmt.duration(state.seconds_left));
  }

  function render(state) {
    if (state.status === "needs_review") {  // the analysis is done: on to the review page
      window.location.assign(root.getAttribute("data-review-url"));
      return;
    }
    if (state.finished && state.undoes_job_id) {  // an undo ended: its page lists what it kept
      window.location.reload();
      return;
    }
    var status = document.getElementById("job-status");
    status.textContent = state.status;
    status.className = "status status-" + state.status;
    setText("job-stage", state.stage);
    document.getElementById("job-progress").value = state.progress;
    setText("job-progress-text", state.progress + "%");
    renderPace(state);
    renderCounts(state);
    renderStages(state);
    renderWarnings(state.warnings);
    fmt.setTime(document.querySelector("#job-started time") || document.getElementById("job-started"), state.started_at);
    fmt.setTime(document.querySelector("#job-finished time") || document.getElementById("job-finished"), state.finished_at);
    if (state.processing_duration_ms !== null && state.processing_duration_ms !== undefined) {
      setText("job-duration", fmt.duration(state.processing_duration_ms / 1000));
    }
    setText("job-mapping-note", state.mapping_note || "");
    show("job-mapping-note", state.mapping_note);
    show("job-report", state.has_error_report);
    setText("job-error", state.error_message || "");
    show("job-error", state.error_message);
    setText("job-failure-label", state.failure_label || "");
    show("job-corrected", state.needs_corrected_file);
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

  renderStages(JSON.parse(root.getAttribute("data-state")));
  if (root.getAttribute("data-finished") !== "true") { window.setTimeout(poll, 500); }
})();
