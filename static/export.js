// Keeps a queued export's page current: polls its state once a second until it finishes.
(function () {
  "use strict";
  var root = document.getElementById("export");
  if (!root || root.getAttribute("data-finished") === "true") { return; }
  var url = root.getAttribute("data-state-url");
  var fmt = window.bulkappFormat;

  function show(state) {
    var status = document.getElementById("export-status");
    status.textContent = state.status;
    status.className = "status status-" + state.status;
    document.getElementById("export-progress").value = state.progress;
    document.getElementById("export-rows").textContent = fmt.number(state.rowsWritten);
    document.getElementById("export-expected").textContent = fmt.number(state.rowsExpected);
    var error = document.getElementById("export-error");
    error.textContent = state.errorMessage || "";
    error.hidden = !state.errorMessage;
    if (state.downloadUrl) {
      document.getElementById("export-download-link").href = state.downloadUrl;
      document.getElementById("export-download").hidden = false;
    }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state) { show(state); }
        if (!state || !state.finished) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 1000);
})();
