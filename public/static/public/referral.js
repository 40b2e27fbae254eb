// The referral selection lives in this browser tab only (sessionStorage): it never outlives the browser
// session, and "new client" empties it, so the next client at the same desk starts with an empty slip.
(function () {
  var KEY = "wegweiser-referral";
  try { localStorage.removeItem(KEY); } catch (e) {} // where earlier versions kept it, for good
  function keep(ids) {
    try { if (ids) { sessionStorage.setItem(KEY, ids); } else { sessionStorage.removeItem(KEY); } } catch (e) {}
  }
  var selection = document.getElementById("slip-selection");
  if (selection) keep(selection.dataset.ids || "");
  document.querySelectorAll("a[data-remove]").forEach(function (a) {
    a.addEventListener("click", function () { keep(new URL(a.href).searchParams.get("s") || ""); });
  });
  var fresh = document.querySelector("a[data-new-client]");
  if (fresh) fresh.addEventListener("click", function () { keep(""); });

  var copy = document.getElementById("copy"), share = document.getElementById("share");
  if (copy && share && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(share.value).then(function () { copy.textContent = copy.dataset.done; });
    });
  }
  // The phone's own share sheet, where the browser has one: the link goes from the phone, never via our server.
  var native = document.getElementById("share-native");
  if (native && navigator.share) {
    native.hidden = false;
    native.addEventListener("click", function () {
      navigator.share({ title: native.dataset.title, text: native.dataset.title, url: native.dataset.url }).catch(function () {});
    });
  }
})();
