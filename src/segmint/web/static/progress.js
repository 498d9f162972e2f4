// Live progress of a run: poll its status until it is done or failed, then show the result.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var url = "/api/runs/" + encodeURIComponent(box.getAttribute("data-run"));
  var bar = document.getElementById("bar");
  var stage = document.getElementById("stage");
  var state = document.getElementById("state");
  var steps = box.querySelectorAll(".stages li");

  function show(status) {
    if (status.state === "done" || status.state === "failed") {
      window.location.reload();
      return true;
    }
    state.textContent = status.state === "queued" ? "Waiting for a free worker" : "Running";
    stage.textContent = status.stage || "Queued";
    var step = typeof status.step === "number" ? status.step : 0;
    bar.value = step;
    for (var i = 0; i < steps.length; i++) {
      steps[i].className = i < step ? "done" : (i === step && status.state === "running" ? "now" : "");
    }
    return false;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (status) {
        if (!status || !show(status)) { window.setTimeout(poll, 1000); }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
}());
