// "Add to referral" links: with JavaScript, keep the services already chosen in this browser tab
// (sessionStorage, so a selection never outlives the browser session; see referral.js).
(function () {
  var KEY = "wegweiser-referral", saved = "";
  try {
    localStorage.removeItem(KEY); // where earlier versions kept it, for good
    saved = sessionStorage.getItem(KEY) || "";
  } catch (e) { return; }
  if (!saved) return;
  document.querySelectorAll("a[data-add-referral]").forEach(function (a) {
    var id = a.dataset.addReferral, ids = saved.split(",").filter(Boolean);
    if (ids.indexOf(id) < 0) ids.push(id);
    a.href = a.pathname + "?s=" + ids.join(",");
  });
})();
