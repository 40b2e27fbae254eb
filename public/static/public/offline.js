// Registers the service worker that keeps the pages a visitor opened readable offline. A static file (not an
// inline script) because the Content-Security-Policy allows scripts from this site only.
(function () {
  var script = document.currentScript;
  if (!script || !("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register(script.dataset.serviceWorker);
})();
