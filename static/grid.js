// The server-paged grid (templates/_grid.html): keyboard navigation between cells, the
// pager on Page Up / Page Down, and rows that open their page (Enter, or a click).
// Pages that edit cells (inputs inside them) keep those keys for the input, and may call
// bulkappGrid.focusCell(table, row, column) to move on themselves.
(function () {
  "use strict";

  var EDITABLE = "input, select, textarea, button";

  function cells(table) {
    return Array.prototype.map.call(table.tBodies[0].rows, function (row) {
      return Array.prototype.slice.call(row.cells);
    });
  }

  function focusCell(table, rowIndex, columnIndex) {
    var grid = cells(table);
    if (!grid.length) { return null; }
    var row = grid[Math.max(0, Math.min(rowIndex, grid.length - 1))];
    var cell = row[Math.max(0, Math.min(columnIndex, row.length - 1))];
    Array.prototype.forEach.call(table.querySelectorAll("td[tabindex='0']"), function (other) {
      other.setAttribute("tabindex", "-1");
    });
    cell.setAttribute("tabindex", "0");
    cell.focus();
    return cell;
  }

  function follow(table, rel) {
    var wrap = table.closest(".grid-wrap");
    var pager = wrap && wrap.nextElementSibling;
    var link = pager && pager.querySelector("a[rel='" + rel + "']");
    if (link) { window.location.href = link.href; }
  }

  function open(row) {
    var href = row && row.getAttribute("data-href");
    if (href) { window.location.href = href; }
  }

  function onKey(table, event) {
    var cell = event.target.closest("td");
    if (!cell || event.target.matches(EDITABLE) || event.altKey || event.ctrlKey || event.metaKey) {
      return;
    }
    var row = cell.parentElement;
    var r = row.sectionRowIndex, c = cell.cellIndex, last = row.cells.length - 1;
    var moves = {
      ArrowDown: [r + 1, c], ArrowUp: [r - 1, c], ArrowRight: [r, c + 1], ArrowLeft: [r, c - 1],
      Home: [r, 0], End: [r, last]
    };
    if (moves[event.key]) {
      focusCell(table, moves[event.key][0], moves[event.key][1]);
    } else if (event.key === "PageDown") {
      follow(table, "next");
    } else if (event.key === "PageUp") {
      follow(table, "prev");
    } else if (event.key === "Enter") {
      var link = cell.querySelector("a[href]");
      if (link) { link.click(); } else { open(row); }
    } else {
      return;
    }
    event.preventDefault();
  }

  function setUp(table) {
    var body = table.tBodies[0];
    if (!body || body.querySelector("tr.grid-empty")) { return; }
    Array.prototype.forEach.call(body.querySelectorAll("td"), function (cell, index) {
      cell.setAttribute("tabindex", index === 0 ? "0" : "-1");
    });
    table.addEventListener("keydown", function (event) { onKey(table, event); });
    body.addEventListener("click", function (event) {
      if (event.target.closest("a, " + EDITABLE)) { return; }
      open(event.target.closest("tr"));
    });
  }

  window.bulkappGrid = { focusCell: focusCell };
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table[data-grid]"), setUp);
  });
})();
