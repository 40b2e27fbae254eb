// The referral selection also lives in this browser (localStorage), so "add to referral" links can carry it.
(function () {
  var tools = document.getElementById("slip-tools");
  if (tools) {
    try { localStorage.setItem("wegweiser-referral", tools.dataset.ids || ""); } catch (e) {}
    var copy = document.getElementById("copy"), share = document.getElementById("share");
    if (copy && navigator.clipboard) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        navigator.clipboard.writeText(share.value).then(function () { copy.textContent = copy.dataset.done; });
      });
    }
  }
})();
