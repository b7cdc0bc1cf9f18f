// Download links under every data table (table.grid): the page itself answers ?format=csv|xlsx&table=KEY
// (batteryloop.web.downloads), KEY being the table's id or grid-N for the N-th data table without one.
(function () {
  var n = 0;
  document.querySelectorAll("table.grid").forEach(function (t) {
    if (t.parentElement && t.parentElement.closest("table")) { return; }
    var key = t.id || ("grid-" + n);
    n += 1;
    var p = document.createElement("p");
    p.className = "downloads";
    p.appendChild(document.createTextNode("Download: "));
    [["csv", "CSV"], ["xlsx", "Excel"]].forEach(function (f, i) {
      var q = new URLSearchParams(window.location.search);
      q.set("format", f[0]);
      q.set("table", key);
      var a = document.createElement("a");
      a.href = window.location.pathname + "?" + q.toString();
      a.textContent = f[1];
      a.setAttribute("download", "");
      a.dataset.table = key;
      a.dataset.format = f[0];
      if (i) { p.appendChild(document.createTextNode(" · ")); }
      p.appendChild(a);
    });
    var holder = t.closest(".scroll") || t;
    holder.insertAdjacentElement("afterend", p);
  });
}());
