// "Use my location" on the start page: shown only where the browser can locate; the position goes to the
// "who is responsible" page as lat/lon. data-responsible on the script tag is that page's address.
(function () {
  var script = document.currentScript;
  var button = document.getElementById("locate");
  if (!script || !button || !navigator.geolocation) return;
  var target = script.dataset.responsible;
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.geolocation.getCurrentPosition(
      function (position) {
        location.href =
          target + "?lat=" + position.coords.latitude.toFixed(5) + "&lon=" + position.coords.longitude.toFixed(5);
      },
      function () {
        alert(button.dataset.error);
      },
      { timeout: 15000 }
    );
  });
})();
