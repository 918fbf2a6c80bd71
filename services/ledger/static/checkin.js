// Check-in over poor networks. Each tap's command id is created here, on the phone, and
// kept in localStorage until the ledger acknowledges it; every retry sends the very same
// command, which the ledger appends at most once (same command id -> original result).
(function () {
  "use strict";
  var box = document.getElementById("tap");
  if (!box || !window.fetch || !window.localStorage) return; // plain form posts still work
  var key = "pending-tap:" + box.dataset.activity;
  var progress = document.getElementById("progress");
  var delay = 1000;
  var timer = null;

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // crypto.randomUUID needs a secure context (https); getRandomValues does not.
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); });
    return h.slice(0, 4).join("") + "-" + h.slice(4, 6).join("") + "-" + h.slice(6, 8).join("") +
      "-" + h.slice(8, 10).join("") + "-" + h.slice(10).join("");
  }
  function say(text) { progress.textContent = text || ""; }
  function load() { try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; } }
  function save(p) { localStorage.setItem(key, JSON.stringify(p)); }
  function done() { localStorage.removeItem(key); }
  function enable(on) {
    Array.prototype.forEach.call(document.querySelectorAll("form.tap-form button"),
                                 function (b) { b.disabled = !on; });
  }

  function send(p) {
    // This page's CSRF token, not the one saved with the tap: after a browser restart the
    // cookie (and so the token) is new, and the saved one would be refused.
    var field = document.querySelector("[name=_csrf_token]");
    var body = new URLSearchParams({ command_id: p.id, client_time: p.clientTime,
                                     _csrf_token: field ? field.value : p.csrf });
    if (p.code) body.set("code", p.code); // the typed live code: checked, then checked in
    say(box.dataset.msgSending);
    fetch(p.url, { method: "POST", body: body, credentials: "same-origin",
                   headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (r.status >= 500 || r.status === 429) throw new Error("retry " + r.status);
        return r.json().then(function (answer) {
          done(); // acknowledged or refused for good: either way, stop retrying
          if (answer.ok) { location.replace(location.pathname + "?done=" + p.action); return; }
          if (p.code && answer.code === "code_expired") {
            // A mistyped or rotated code: say so and keep what was typed, to fix it.
            say(answer.message);
            enable(true);
            return;
          }
          location.replace(location.pathname + "?e=" + encodeURIComponent(answer.flash || ""));
        });
      })
      .catch(function () {
        say(navigator.onLine === false ? box.dataset.msgOffline : box.dataset.msgRetrying);
        timer = setTimeout(function () { timer = null; send(p); }, delay);
        delay = Math.min(delay * 2, 15000);
      });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.tap-form"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var existing = load();
      if (existing) { send(existing); return; } // a tap still in flight: resend, never a new id
      var typed = form.querySelector("[name=code]");
      var p = { id: uuid4(),
                action: form.dataset.action, url: form.action,
                clientTime: new Date().toISOString(), code: typed ? typed.value : "",
                csrf: form.querySelector("[name=_csrf_token]").value };
      save(p);
      form.querySelector("button").disabled = true;
      send(p);
    });
  });
  window.addEventListener("online", function () {
    // Back online: resend the waiting tap now rather than after the back-off.
    delay = 1000;
    var waiting = load();
    if (waiting && timer !== null) { clearTimeout(timer); timer = null; send(waiting); }
  });
  var pending = load();
  if (pending) {
    // The page was reloaded (or the phone slept) before the ledger answered: carry on.
    enable(false);
    send(pending);
  }
})();
