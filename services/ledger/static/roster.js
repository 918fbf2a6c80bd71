// A live roster: reload every 30 s to show new check-ins, but never while the organiser
// is typing, has changed a field, opened a correction or a confirmation (a reload would
// lose it).
(function () {
  "use strict";
  var touched = false;
  document.addEventListener("input", function () { touched = true; });
  document.addEventListener("change", function () { touched = true; });
  setInterval(function () {
    var busy = touched || document.querySelector("details[open], dialog[open]") ||
      (document.activeElement && /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName));
    if (!busy && document.visibilityState === "visible") location.reload();
  }, 30000);
})();
