// Progressive enhancement: the lists show every row without this script; with it, the department and
// period selects above a table hide the rows that do not match.
(function () {
  "use strict";
  document.querySelectorAll("form.filters").forEach(function (form) {
    var table = document.getElementById(form.dataset.filterFor);
    if (!table) { return; }
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-department]"));
    var count = form.querySelector(".count");
    function apply() {
      var dep = form.elements.department.value, period = form.elements.period.value, shown = 0;
      rows.forEach(function (tr) {
        var hit = (!dep || tr.dataset.department === dep) && (!period || tr.dataset.period === period);
        tr.hidden = !hit;
        if (hit) { shown += 1; }
      });
      count.textContent = "显示 " + shown + " / " + rows.length + " 条";
    }
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
    apply();
  });
})();
