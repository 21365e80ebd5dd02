// Optional: the page is complete without it. It lets the legend keys pick
// out one state on the map, and filters the listings tables.
(function () {
  "use strict";
  document.querySelectorAll("ul.legend").forEach(function (legend) {
    var fig = legend.previousElementSibling;
    var map = fig && fig.querySelector("svg.map");
    if (!map) { return; }
    var keys = legend.querySelectorAll("button.key");
    keys.forEach(function (key) {
      key.disabled = false;
      key.setAttribute("aria-pressed", "false");
      key.title = "Show only these cells";
      key.addEventListener("click", function () {
        var on = key.getAttribute("aria-pressed") !== "true";
        keys.forEach(function (k) { k.setAttribute("aria-pressed", "false"); });
        map.querySelectorAll("rect.on").forEach(function (r) { r.classList.remove("on"); });
        map.classList.toggle("focus", on);
        if (on) {
          key.setAttribute("aria-pressed", "true");
          map.querySelectorAll('rect[data-state="' + key.dataset.key + '"]').forEach(function (r) { r.classList.add("on"); });
        }
      });
    });
  });
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.dataset.filter);
    if (!table) { return; }
    input.closest(".filter").hidden = false;
    var rows = table.tBodies[0].rows;
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      for (var i = 0; i < rows.length; i++) {
        rows[i].hidden = q !== "" && rows[i].textContent.toLowerCase().indexOf(q) < 0;
      }
    });
  });
})();
