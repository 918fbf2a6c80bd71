// The member pages' service worker (served as /t/<tenant>/sw.js: its scope is that
// tenant's member pages). Pages come from the network whenever it answers, and each page
// it answers is kept; offline, a reload shows the page as last opened (its own script
// then says it may be out of date and keeps any tap queued) or, for a page never opened,
// a Chinese offline page instead of the browser's error. Taps are never answered from
// here: POSTs always go to the network, and checkin.js queues and retries them.
"use strict";
var CACHE = "ledger-member-pages-v1";
var OFFLINE = "/static/offline.html";
var SHELL = [OFFLINE, "/static/app.css", "/static/checkin.js", "/static/offline.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) { return cache.addAll(SHELL); })
    .then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }).then(function () { return self.clients.claim(); }));
});

// One entry per page, whatever its query (?done=in, ?e=…): the latest answer wins.
function pageKey(url) { var u = new URL(url); return u.origin + u.pathname; }

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok && response.type === "basic") {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(pageKey(request.url), copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(pageKey(request.url)).then(function (page) {
        return page || caches.match(OFFLINE);
      });
    }));
    return;
  }
  if (SHELL.indexOf(new URL(request.url).pathname) !== -1) {
    // The page's own assets: the network first (fresh after a deploy), the cache offline.
    event.respondWith(fetch(request).then(function (response) {
      var copy = response.clone();
      if (response.ok) caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
      return response;
    }).catch(function () { return caches.match(request); }));
  }
});
