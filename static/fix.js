// The fix page (templates/fix.html): each changed cell is saved and checked on the server at
// once (fetch with the page's CSRF token); the row's problems, its state and the counts are
// redrawn from the answer. Tab moves to the next cell as usual; Enter saves and moves down
// (Shift+Enter up), to the same column of the next row.
(function () {
  "use strict";

  var section, table, status;

  function inputsOf(rowNumber) {
    return table.querySelectorAll("input.fix-cell[data-row='" + rowNumber + "']");
  }

  function show(message, isError) {
    status.textContent = message;
    status.classList.toggle("fix-error", !!isError);
  }

  function redraw(answer) {
    var problems = answer.problems.columns;
    Array.prototype.forEach.call(inputsOf(answer.row), function (input) {
      var messages = problems[input.getAttribute("data-column")] || [];
      input.classList.toggle("fix-invalid", messages.length > 0);
      if (messages.length) {
        input.setAttribute("aria-invalid", "true");
        input.title = messages.join(" ");
      } else {
        input.removeAttribute("aria-invalid");
        input.removeAttribute("title");
      }
      var value = answer.cells[Number(input.getAttribute("data-column"))];
      input.setAttribute("data-saved", value === null ? "" : value);
    });
    var list = table.querySelector("[data-problems='" + answer.row + "']");
    if (list) {
      list.textContent = "";
      Object.keys(problems).forEach(function (position) {
        problems[position].forEach(function (message) {
          var item = document.createElement("li");
          var name = document.createElement("strong");
          name.textContent = table.tHead.querySelector(
            "th[data-column='c" + position + "']").textContent.trim();
          item.appendChild(name);
          item.appendChild(document.createTextNode(": " + message));
          list.appendChild(item);
        });
      });
      answer.problems.row.forEach(function (message) {
        var item = document.createElement("li");
        item.textContent = message;
        list.appendChild(item);
      });
    }
    var state = table.querySelector("[data-state='" + answer.row + "']");
    if (state) {
      state.textContent = answer.state;
      state.className = "status fix-state fix-state-" + answer.state;
    }
    ["invalid", "fixed", "sent"].forEach(function (name) {
      var count = document.getElementById("fix-count-" + name);
      if (count) { count.textContent = answer.counts[name].toLocaleString("en-US"); }
    });
  }

  function save(input) {
    var value = input.value;
    if (value === input.getAttribute("data-saved") || input.readOnly) { return; }
    var before = input.getAttribute("data-saved");
    input.setAttribute("data-saved", value);  // a blur after Enter does not send it again
    var row = input.getAttribute("data-row");
    var cells = {};
    cells[input.getAttribute("data-column")] = value;
    input.setAttribute("data-saving", "true");
    var url = section.getAttribute("data-edit-url").replace(/\/0$/, "/" + row);
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": section.getAttribute("data-csrf")
      },
      body: JSON.stringify({ cells: cells })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      input.removeAttribute("data-saving");
      if (!result.ok) {
        input.setAttribute("data-saved", before);
        show("Row " + row + " was not saved: " + result.body.error.message, true);
        return;
      }
      redraw(result.body);
      show("Row " + row + " saved: " + (result.body.state === "fixed"
        ? "no problems left." : "still has problems."), false);
    }).catch(function () {
      input.setAttribute("data-saved", before);
      input.removeAttribute("data-saving");
      show("Row " + row + " was not saved: the server could not be reached. Try again.", true);
    });
  }

  function moveDown(input, step) {
    var cell = input.closest("td");
    var row = cell.parentElement;
    var rows = table.tBodies[0].rows;
    var next = rows[row.sectionRowIndex + step];
    var target = next && next.cells[cell.cellIndex].querySelector("input.fix-cell");
    if (target) { target.focus(); target.select(); }
  }

  function setUpBulk() {
    var action = document.getElementById("fix-bulk-action");
    if (!action) { return; }
    var find = document.getElementById("fix-bulk-find").closest("label");
    var value = document.getElementById("fix-bulk-value").closest("label");
    function toggle() {
      find.hidden = action.value !== "replace";
      value.hidden = action.value === "empty";
    }
    action.addEventListener("change", toggle);
    toggle();
  }

  document.addEventListener("DOMContentLoaded", function () {
    section = document.getElementById("fix");
    table = document.getElementById("fix-grid");
    status = document.getElementById("fix-status");
    setUpBulk();
    if (!table || section.getAttribute("data-editable") !== "true") { return; }
    Array.prototype.forEach.call(table.querySelectorAll("input.fix-cell"), function (input) {
      input.setAttribute("data-saved", input.value);
      input.addEventListener("change", function () { save(input); });
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          save(input);
          moveDown(input, event.shiftKey ? -1 : 1);
        }
      });
    });
  });
})();
