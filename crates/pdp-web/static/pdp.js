// Small progressive enhancements; every page works without this file.
document.addEventListener("click", function (e) {
  var t = e.target.closest("[data-confirm]");
  if (t && !window.confirm(t.getAttribute("data-confirm"))) { e.preventDefault(); }
});
