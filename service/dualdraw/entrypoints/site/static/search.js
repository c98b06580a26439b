// Progressive enhancement: without this script search.html lists every object; with it the list is
// filtered by the query (?q= from the search form, or typing in the box) on credit code or name.
(function () {
  "use strict";
  var list = document.getElementById("object-list");
  var status = document.getElementById("search-status");
  var box = document.getElementById("q");
  if (!list || !box) { return; }
  var items = Array.prototype.slice.call(list.querySelectorAll("li"));
  function apply(query) {
    var q = (query || "").trim().toUpperCase();
    var shown = 0;
    items.forEach(function (li) {
      var hit = !q || li.dataset.code.indexOf(q) !== -1 || li.dataset.name.toUpperCase().indexOf(q) !== -1;
      li.hidden = !hit;
      if (hit) { shown += 1; }
    });
    status.textContent = q ? "“" + query.trim() + "”：找到 " + shown + " 家企业" : "共 " + items.length + " 家企业";
  }
  var initial = new URLSearchParams(window.location.search).get("q") || "";
  box.value = initial;
  apply(initial);
  box.addEventListener("input", function () { apply(box.value); });
  box.form.addEventListener("submit", function (event) {
    event.preventDefault();
    apply(box.value);
    history.replaceState(null, "", "?q=" + encodeURIComponent(box.value.trim()));
  });
})();
