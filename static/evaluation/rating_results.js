// The rating results chart: each shown cell's score per dimension (0–100), grouped bars.
// Data from <script id="…" type="application/json"> (json_script): no inline code, so the
// Content-Security-Policy can forbid it.
(function () {
  function draw(el) {
    var source = document.getElementById(el.dataset.ratingChart);
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, bottom: 64, top: 40 },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", min: 0, max: 100, name: "得分率" },
      series: data.series.map(function (s) { return { name: s.name, type: "bar", data: s.data }; })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-rating-chart]").forEach(draw);
  });
})();
