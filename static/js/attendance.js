// The attendance grid: a select-all box per session column and a live count of the boxes ticked.
// Without JavaScript the grid still submits, and "本场全部出勤" marks a whole column.
(function () {
  var grid = document.getElementById("attendance-grid");
  if (!grid) return;
  function boxes(session) {
    return grid.querySelectorAll('tbody input[type=checkbox][data-session="' + session + '"]:not(:disabled)');
  }
  function recount(session) {
    var picked = 0;
    boxes(session).forEach(function (box) { if (box.checked) picked += 1; });
    var cell = grid.querySelector('td.count[data-session="' + session + '"] .picked');
    if (cell) cell.textContent = picked ? "（本次勾选 " + picked + " 人）" : "";
  }
  grid.querySelectorAll("label.select-all").forEach(function (label) { label.hidden = false; });
  grid.addEventListener("change", function (event) {
    var box = event.target;
    var session = box.getAttribute("data-session");
    if (!session) return;
    if (box.closest("label.select-all")) {
      boxes(session).forEach(function (other) { other.checked = box.checked; });
    }
    recount(session);
  });
})();
