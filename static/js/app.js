// marketsync's own few lines of browser code: the live-connection indicator driven by
// htmx's ws events, a ticking elapsed time, the coverage page's day selection and the
// header's stock search keys.
(function () {
  "use strict";

  // Live indicator: #live-indicator[data-state] = connecting | connected | reconnecting | offline.
  var failures = 0, everOpen = false;
  function setLive(state) {
    var el = document.getElementById("live-indicator");
    if (el) el.setAttribute("data-state", state);
  }
  document.addEventListener("htmx:wsConnecting", function () {
    setLive(everOpen || failures > 0 ? "reconnecting" : "connecting");
  });
  document.addEventListener("htmx:wsOpen", function () {
    failures = 0; everOpen = true; setLive("connected");
  });
  document.addEventListener("htmx:wsClose", function (e) {
    var code = e.detail && e.detail.event && e.detail.event.code;
    // The ws extension reconnects only after these close codes; others end the connection.
    var retrying = [1006, 1011, 1012, 1013].indexOf(code) >= 0;
    setLive(retrying && navigator.onLine !== false && failures < 5 ? "reconnecting" : "offline");
  });
  document.addEventListener("htmx:wsError", function () {
    failures++;
    if (failures >= 5 || navigator.onLine === false) setLive("offline");
  });
  window.addEventListener("offline", function () { setLive("offline"); });

  // Elapsed time: [data-elapsed-since=unix ms] counts up every second between pushes.
  function fmtDuration(ms, lang) {
    var s = Math.max(0, Math.round(ms / 1000));
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    s = s % 60;
    var u = lang === "zh" ? ["小时", "分", "秒"] : ["h", "m", "s"];
    var out = "";
    if (h > 0) out += h + u[0];
    if (h > 0 || m > 0) out += m + u[1];
    return out + s + u[2];
  }
  setInterval(function () {
    var lang = document.body.getAttribute("data-lang");
    document.querySelectorAll("[data-elapsed-since]").forEach(function (el) {
      var since = parseInt(el.getAttribute("data-elapsed-since"), 10);
      if (since > 0) el.textContent = fmtDuration(Date.now() - since, lang);
    });
  }, 1000);

  // Coverage: count ticked days, select all missing, clear.
  function updateCount() {
    var form = document.getElementById("coverage-form");
    if (!form) return;
    var n = form.querySelectorAll('input[name="days"]:checked').length;
    form.querySelectorAll("[data-coverage-count]").forEach(function (el) { el.textContent = n; });
    form.querySelectorAll("[data-coverage-submit]").forEach(function (b) { b.disabled = n === 0; });
  }
  document.addEventListener("change", function (e) {
    if (e.target && e.target.name === "days") updateCount();
    // A select that navigates (the coverage year): no inline handlers under the CSP.
    if (e.target && e.target.hasAttribute && e.target.hasAttribute("data-submit-on-change")) e.target.form.submit();
  });
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-coverage-select]");
    if (!btn) return;
    var want = btn.getAttribute("data-coverage-select");
    btn.form.querySelectorAll('input[name="days"]').forEach(function (cb) {
      cb.checked = want === "missing" ? cb.getAttribute("data-state") === "missing" : false;
    });
    updateCount();
  });
  // A plain form with data-confirm (removing a user) asks before it is sent.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
    }
  });

  // The header's stock search: arrow keys move between the box and the matches htmx
  // listed under it; Escape closes the list.
  document.addEventListener("keydown", function (e) {
    var form = e.target.closest && e.target.closest("[data-stock-search]");
    if (!form) return;
    var links = Array.prototype.slice.call(form.querySelectorAll("[data-stock-result]"));
    var input = form.querySelector("input[name=q]");
    var at = links.indexOf(e.target);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (links.length === 0) return;
      e.preventDefault();
      var next = e.key === "ArrowDown" ? at + 1 : at - 1;
      if (next < 0) input.focus();
      else links[Math.min(next, links.length - 1)].focus();
    } else if (e.key === "Escape") {
      form.querySelector("#stock-search-results").innerHTML = "";
      input.focus();
    } else if (e.key === "Enter" && e.target === input && links.length > 0) {
      e.preventDefault();
      window.location.href = links[0].getAttribute("href");
    }
  });

  document.addEventListener("DOMContentLoaded", updateCount);
  document.addEventListener("htmx:afterSettle", updateCount);
})();
