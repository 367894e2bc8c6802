// The status page's live banner: re-reads /api/health every 15 s and says what it found,
// and shows each <time> as an age. No library: the page must work without internet.
(function () {
  "use strict";
  var REFRESH_MS = 15000;
  var live = document.getElementById("live");
  var overall = document.getElementById("overall");

  function ago(iso) {
    var seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (isNaN(seconds)) return "";
    var future = seconds < 0;
    seconds = Math.abs(seconds);
    var text = seconds < 90 ? seconds + " s" : seconds < 5400 ? Math.round(seconds / 60) + " min"
      : seconds < 172800 ? Math.round(seconds / 3600) + " h" : Math.round(seconds / 86400) + " d";
    return future ? "in " + text : text + " ago";
  }

  function ages() {
    var times = document.querySelectorAll("time[datetime]");
    for (var i = 0; i < times.length; i++) {
      times[i].title = times[i].getAttribute("datetime");
      times[i].setAttribute("data-ago", ago(times[i].getAttribute("datetime")));
      times[i].textContent = ago(times[i].getAttribute("datetime"));
    }
  }

  function show(body) {
    var status = body.status || "unknown";
    live.setAttribute("data-live", status);
    var reasons = (body.reasons || []).length;
    live.textContent = "Live: " + status + " at " + new Date().toISOString().slice(11, 19) +
      " UTC" + (reasons ? " (" + reasons + " reason" + (reasons > 1 ? "s" : "") + ")" : "");
    var badge = overall && overall.querySelector(".badge");
    if (badge) {
      badge.textContent = status;
      badge.className = "badge " + ({ ok: "ok", degraded: "warn", down: "bad" }[status] || "");
    }
    document.body.setAttribute("data-status", status);
  }

  function refresh() {
    fetch("/api/health", { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(show)
      .catch(function (error) {
        live.setAttribute("data-live", "error");
        live.textContent = "Live: could not reach /api/health (" + error + ")";
      })
      .then(ages);
  }

  ages();
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
