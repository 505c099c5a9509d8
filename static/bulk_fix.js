// Follows a queued bulk fix on the fix page: polls its state once a second and shows how far
// it got; when it ends, reloads the page, which then shows the rows as the fix left them.
(function () {
  "use strict";
  var root = document.getElementById("fix-bulk-run");
  if (!root || root.getAttribute("data-finished") === "true") { return; }
  var url = root.getAttribute("data-state-url");
  var fmt = window.bulkappFormat;

  function show(state) {
    var status = document.getElementById("fix-bulk-run-status");
    status.textContent = state.status;
    status.className = "status status-" + state.status;
    document.getElementById("fix-bulk-run-progress").value = state.progress;
    document.getElementById("fix-bulk-run-done").textContent = fmt.number(state.rowsDone);
    document.getElementById("fix-bulk-run-changed").textContent = fmt.number(state.rowsChanged);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state) { show(state); }
        if (state && state.finished) { window.location.reload(); return; }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 1000);
})();
