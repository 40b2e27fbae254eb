// Wegweiser NRW service worker: pages you opened stay readable offline (network first, then the saved copy).
var CACHE = "wegweiser-v1";
var OFFLINE = {{ offline_urls|safe }};
self.addEventListener("install", function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(OFFLINE); }).then(function () { return self.skipWaiting(); }));
});
self.addEventListener("activate", function (e) { e.waitUntil(self.clients.claim()); });
self.addEventListener("fetch", function (e) {
  var req = e.request;
  if (req.method !== "GET" || new URL(req.url).origin !== location.origin) return;
  e.respondWith(fetch(req).then(function (res) {
    // A page that says no-store (the referral slip, whose link may carry an appointment) is never kept.
    var keep = !/no-store/.test(res.headers.get("Cache-Control") || "");
    if (keep && res.ok && (req.mode === "navigate" || req.destination === "style" || req.destination === "script")) {
      var copy = res.clone();
      caches.open(CACHE).then(function (c) { c.put(req, copy); });
    }
    return res;
  }).catch(function () {
    return caches.match(req).then(function (hit) {
      if (hit) return hit;
      if (req.mode === "navigate") {
        var lang = new URL(req.url).pathname.split("/")[1];
        return caches.match("/" + lang + "/offline/").then(function (o) { return o || caches.match(OFFLINE[0]); });
      }
      return Response.error();
    });
  }));
});
