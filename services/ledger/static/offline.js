// Keeps the member's pages usable without a signal: registers the service worker (sw.js,
// served under /t/<tenant>/ so its scope covers the check-in and records pages) and says
// so on the page when the phone is offline, where the page shown may be the cached one.
(function () {
  "use strict";
  var script = document.currentScript;
  var note = document.getElementById("offline-note");
  if (note) {
    var mark = function () { note.hidden = navigator.onLine !== false; };
    mark();
    window.addEventListener("online", mark);
    window.addEventListener("offline", mark);
  }
  if (script && script.dataset.worker && navigator.serviceWorker) {
    // Without it the pages work exactly as before, only not offline.
    navigator.serviceWorker.register(script.dataset.worker).catch(function () {});
  }
})();
