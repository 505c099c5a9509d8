// Numbers, durations and times for people, shared by the job page and the monitor:
// 12,345 rows; "3 min 5 s"; times in the browser's time zone with the UTC value on hover.
(function () {
  "use strict";

  function number(value) {
    return value === null || value === undefined ? "–" : Number(value).toLocaleString("en-US");
  }

  function duration(seconds) {
    seconds = Number(seconds || 0);
    if (seconds < 60) { return (Number.isInteger(seconds) ? seconds : seconds.toFixed(seconds < 10 ? 2 : 1)) + " s"; }
    var whole = Math.round(seconds);
    var hours = Math.floor(whole / 3600), minutes = Math.floor((whole % 3600) / 60);
    if (hours) { return hours + " h " + minutes + " min"; }
    return minutes + " min " + (whole % 60) + " s";
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function localText(date) {
    var today = new Date();
    var time = pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds());
    if (date.toDateString() === today.toDateString()) { return "today " + time; }
    return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + " " + time;
  }

  function utcText(date) {
    return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  // Fill a <time> element from an ISO timestamp: local text, the UTC value as its tooltip.
  function setTime(element, iso) {
    if (!element) { return; }
    if (!iso) { element.textContent = "–"; element.removeAttribute("title"); return; }
    var date = new Date(iso);
    element.setAttribute("datetime", iso);
    element.textContent = localText(date);
    element.title = utcText(date);
  }

  function localiseTimes(scope) {
    Array.prototype.forEach.call((scope || document).querySelectorAll("time[datetime]"), function (el) {
      setTime(el, el.getAttribute("datetime"));
    });
  }

  window.bulkappFormat = { number: number, duration: duration, setTime: setTime, localiseTimes: localiseTimes };
  document.addEventListener("DOMContentLoaded", function () { localiseTimes(document); });
})();
