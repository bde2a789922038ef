// Draws every <div data-chart="ID"> from the JSON in <script id="ID" type="application/json">.
// Kept in a file (no inline script) so the Content-Security-Policy can forbid inline code.
(function () {
  function draw(el) {
    var source = document.getElementById(el.dataset.chart);
    if (!source || !window.echarts) { return; }
    var spec = JSON.parse(source.textContent);
    var chart = window.echarts.init(el);
    chart.setOption(spec);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
