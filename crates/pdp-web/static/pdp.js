// Small progressive enhancements; every page works without this file.
document.addEventListener("click", function (e) {
  var t = e.target.closest("[data-confirm]");
  if (t && !window.confirm(t.getAttribute("data-confirm"))) { e.preventDefault(); }
});

// Catalog import: sends the chosen file to the JSON API with the session's CSRF token and shows
// the result, or every error with its row and column.
document.addEventListener("submit", function (e) {
  var form = e.target.closest("#import-form");
  if (!form) { return; }
  e.preventDefault();
  var file = form.querySelector("input[type=file]").files[0];
  var out = document.getElementById("import-result");
  if (!file) { return; }
  out.textContent = "…";
  fetch("/api/v1/catalog/import", {
    method: "POST",
    headers: { "X-CSRF-Token": form.getAttribute("data-csrf"), "Content-Type": "application/octet-stream" },
    body: file,
    credentials: "same-origin"
  }).then(function (r) { return r.json().then(function (j) { return [r.ok, j]; }); }).then(function (res) {
    var ok = res[0], j = res[1];
    out.innerHTML = "";
    var p = document.createElement("p");
    p.className = ok ? "notice ok" : "notice error";
    p.textContent = ok ? ("已导入 / imported: " + j.created + " new, " + j.updated + " updated — " + j.codes.join(", ")) : j.message;
    out.appendChild(p);
    if (!ok && j.details) {
      var t = document.createElement("table");
      t.innerHTML = "<thead><tr><th>行 Row</th><th>列 Column</th><th>问题 Problem</th></tr></thead>";
      var tb = document.createElement("tbody");
      j.details.forEach(function (d) {
        var tr = document.createElement("tr");
        [d.row, d.column, d.message_zh + " / " + d.message_en].forEach(function (v) {
          var td = document.createElement("td"); td.textContent = v == null ? "" : v; tr.appendChild(td);
        });
        tb.appendChild(tr);
      });
      t.appendChild(tb);
      out.appendChild(t);
    }
  });
});
