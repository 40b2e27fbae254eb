// "Add to referral" links: with JavaScript, keep the services already chosen in this browser.
(function () {
  var saved = "";
  try { saved = localStorage.getItem("wegweiser-referral") || ""; } catch (e) { return; }
  if (!saved) return;
  document.querySelectorAll("a[data-add-referral]").forEach(function (a) {
    var id = a.dataset.addReferral, ids = saved.split(",").filter(Boolean);
    if (ids.indexOf(id) < 0) ids.push(id);
    a.href = a.pathname + "?s=" + ids.join(",");
  });
})();
