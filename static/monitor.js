// The admin monitor's live figures (polls /admin/monitor.json), and the job page's action
// buttons (shown or hidden as the job's status changes; job.js reports it as "job:state").
(function () {
  "use strict";
  var POLL_MS = 1500;

  // A form shows when its data-when lists the job's status, or "retryable" for a job that a
  // retry can help.
  function showActionsFor(scope, job) {
    var forms = scope.querySelectorAll("form[data-when]");
    Array.prototype.forEach.call(forms, function (form) {
      var when = form.getAttribute("data-when").split(" ");
      form.hidden = !(when.indexOf(job.status) >= 0 || (job.retryable && when.indexOf("retryable") >= 0));
    });
  }

  document.addEventListener("job:state", function (event) {
    var block = document.getElementById("job-actions");
    if (!block) { return; }
    var state = event.detail;
    showActionsFor(block, state);
    var attempts = document.getElementById("job-attempts");
    if (attempts && state.import_attempts !== undefined) { attempts.textContent = state.import_attempts; }
  });

  var root = document.getElementById("monitor");
  if (!root) { return; }
  var url = root.getAttribute("data-figures-url");
  var fmt = window.bulkappFormat;

  function setStat(key, value) {
    var cell = document.querySelector('[data-stat="' + key + '"]');
    if (cell) { cell.textContent = fmt.number(value); }
  }

  // "12 s ago" for a recent heartbeat; the local time, with the UTC value on hover, as well.
  function ago(iso) {
    if (!iso) { return "–"; }
    var seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    return seconds < 120 ? seconds + " s ago" : Math.round(seconds / 60) + " min ago";
  }

  function renderQueues(queues, totals) {
    Object.keys(queues || {}).forEach(function (base) {
      var counts = queues[base];
      Object.keys(counts).forEach(function (key) {
        if (key !== "tiers") { setStat(base + "|" + key, counts[key]); }
      });
      Object.keys(counts.tiers || {}).forEach(function (name) {
        var tier = counts.tiers[name];
        Object.keys(tier).forEach(function (key) { setStat(base + "|" + name + "|" + key, tier[key]); });
        var row = document.querySelector('[data-tier-row="' + base + "|" + name + '"]');
        if (row) { row.hidden = !tier.total; }
      });
    });
    Object.keys(totals || {}).forEach(function (key) { setStat("total|" + key, totals[key]); });
  }

  function cell(text, child) {
    var td = document.createElement("td");
    if (child) { td.appendChild(child); } else { td.textContent = text; }
    return td;
  }

  function renderWorkers(workers) {
    var body = document.getElementById("workers-body");
    if (!body || !workers) { return; }
    var jobUrl = body.getAttribute("data-job-url");
    body.textContent = "";
    workers.forEach(function (worker) {
      var row = document.createElement("tr");
      var name = document.createElement("code");
      name.className = "worker-name";
      name.textContent = worker.name;
      row.appendChild(cell(null, name));
      row.appendChild(cell(worker.hostname + " · pid " + worker.pid));
      var queues = cell(worker.queues.length + " queues");
      queues.title = worker.queues.join(", ");
      row.appendChild(queues);
      var state = document.createElement("span");
      state.className = "status status-" + worker.state;
      state.textContent = worker.state;
      row.appendChild(cell(null, state));
      if (worker.current_job_id) {
        var link = document.createElement("a");
        link.href = jobUrl.replace("JOB_ID", encodeURIComponent(worker.current_job_id));
        link.textContent = worker.current_job_id;
        row.appendChild(cell(null, link));
      } else {
        row.appendChild(cell("–"));
      }
      var heartbeat = cell(ago(worker.last_heartbeat));
      if (worker.last_heartbeat) { heartbeat.title = new Date(worker.last_heartbeat).toString(); }
      row.appendChild(heartbeat);
      body.appendChild(row);
    });
  }

  function renderJobs(jobs) {
    Object.keys(jobs || {}).forEach(function (id) {
      var row = document.querySelector('tr[data-job-id="' + id + '"]');
      if (!row) { return; }
      var job = jobs[id];
      var status = row.querySelector("[data-job-status]");
      status.textContent = job.status;
      status.className = "status status-" + job.status;
      row.querySelector("[data-job-progress]").value = job.progress;
      row.querySelector("[data-job-rows]").textContent =
        fmt.number(job.processed) + (job.total ? " / " + fmt.number(job.total) : "");
      row.setAttribute("data-finished", job.finished ? "true" : "false");
      showActionsFor(row, job);
    });
  }

  function render(data) {
    renderQueues(data.queues, data.totals);
    renderWorkers(data.workers);
    renderJobs(data.jobs);
    var error = document.getElementById("monitor-redis-error");
    error.textContent = data.redis_error || "";
    error.hidden = !data.redis_error;
    fmt.setTime(document.getElementById("monitor-updated"), data.generated_at);
  }

  function runningJobIds() {
    var rows = document.querySelectorAll('tr[data-job-id][data-finished="false"]');
    return Array.prototype.map.call(rows, function (row) { return row.getAttribute("data-job-id"); });
  }

  function poll() {
    var ids = runningJobIds();
    var target = url + (ids.length ? "?jobs=" + encodeURIComponent(ids.join(",")) : "");
    fetch(target, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data) { render(data); } })
      .catch(function () { return null; })
      .then(function () { window.setTimeout(poll, POLL_MS); });
  }

  window.setTimeout(poll, POLL_MS);
})();
