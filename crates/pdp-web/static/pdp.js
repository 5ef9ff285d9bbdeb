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

// Charts: elements with data-echarts hold an ECharts option as JSON; the library (vendored, 1 MB)
// is loaded only on pages that have a chart.
(function () {
  var charts = document.querySelectorAll("[data-echarts]");
  if (!charts.length) { return; }
  var s = document.createElement("script");
  s.src = "/static/echarts.min.js";
  s.onload = function () {
    charts.forEach(function (el) {
      var chart = window.echarts.init(el);
      chart.setOption(JSON.parse(el.getAttribute("data-echarts")));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  };
  document.head.appendChild(s);
})();

// Dataset upload: sends the file as the request body with XMLHttpRequest so the page can show
// upload progress, then shows the load report with the first refused rows.
document.addEventListener("submit", function (e) {
  var form = e.target.closest("#upload-form");
  if (!form) { return; }
  e.preventDefault();
  var file = form.querySelector("input[type=file]").files[0];
  if (!file) { return; }
  var out = document.getElementById("upload-result");
  var bar = document.getElementById("upload-progress");
  var q = "filename=" + encodeURIComponent(file.name) +
    "&mode=" + encodeURIComponent(form.elements.mode.value) +
    "&encoding=" + encodeURIComponent(form.elements.encoding.value);
  var xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/v1/datasets/" + form.getAttribute("data-dataset") + "/loads?" + q);
  xhr.setRequestHeader("X-CSRF-Token", form.getAttribute("data-csrf"));
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  bar.hidden = false;
  bar.value = 0;
  out.textContent = "上传中 / uploading…";
  xhr.upload.onprogress = function (ev) {
    if (ev.lengthComputable) { bar.value = Math.round(ev.loaded * 100 / ev.total); }
  };
  xhr.upload.onload = function () { out.textContent = "校验并写入中 / validating and writing…"; };
  xhr.onload = function () {
    var j = {};
    try { j = JSON.parse(xhr.responseText); } catch (err) { j = { message: xhr.responseText }; }
    out.innerHTML = "";
    var p = document.createElement("p");
    var ok = xhr.status >= 200 && xhr.status < 300;
    p.className = ok ? "notice ok" : "notice error";
    p.id = "upload-report";
    p.textContent = ok
      ? ("第 " + j.version + " 版 / version " + j.version + "：读入 input " + j.input_rows + "，通过 accepted " + j.accepted +
         "，隔离 quarantined " + j.quarantined + "，共 rows " + j.rows_after)
      : j.message;
    out.appendChild(p);
    if (ok) {
      var a = document.createElement("a");
      a.href = window.location.pathname + "?ok=" + encodeURIComponent("v" + j.version);
      a.id = "upload-reload";
      a.textContent = "刷新查看隔离区 / reload to see the quarantine";
      out.appendChild(a);
    }
  };
  xhr.onerror = function () { out.textContent = "上传失败 / upload failed"; };
  xhr.send(file);
});

// A plain file upload (e.g. an objection's evidence): the file is the request body of the
// form's data-upload address; the page reloads when it is stored.
document.addEventListener("submit", function (e) {
  var form = e.target.closest("form[data-upload]");
  if (!form) { return; }
  e.preventDefault();
  var file = form.querySelector("input[type=file]").files[0];
  if (!file) { return; }
  var out = document.getElementById("evidence-result");
  var xhr = new XMLHttpRequest();
  xhr.open(form.getAttribute("data-method") || "POST",
    form.getAttribute("data-upload") + "?filename=" + encodeURIComponent(file.name));
  xhr.setRequestHeader("X-CSRF-Token", form.getAttribute("data-csrf"));
  xhr.setRequestHeader("Content-Type", "application/octet-stream");
  out.textContent = "上传中 / uploading…";
  xhr.onload = function () {
    if (xhr.status >= 200 && xhr.status < 300) { window.location.reload(); return; }
    var j = {};
    try { j = JSON.parse(xhr.responseText); } catch (err) { j = { message: xhr.responseText }; }
    out.textContent = j.message || ("HTTP " + xhr.status);
  };
  xhr.onerror = function () { out.textContent = "上传失败 / upload failed"; };
  xhr.send(file);
});
