// Draws each ranking group's bar chart: <div data-ranking-chart="ID"> from the JSON in
// <script id="ID" type="application/json"> ({title, names, values, flagged}). In a file, so the
// Content-Security-Policy can forbid inline code; bottom-ranked projects are drawn in red.
(function () {
  function draw(el) {
    var source = document.getElementById(el.dataset.rankingChart);
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    el.style.height = Math.max(200, 28 * data.names.length + 60) + "px";
    var chart = window.echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis" },
      grid: { left: 8, right: 24, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: "value", name: "综合得分" },
      yAxis: { type: "category", inverse: true, data: data.names,
               axisLabel: { width: 160, overflow: "truncate" } },
      series: [{ type: "bar", name: "综合得分",
                 data: data.values.map(function (value, i) {
                   return { value: value, itemStyle: { color: data.flagged[i] ? "#c0392b" : "#2e86c1" } };
                 }) }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-ranking-chart]").forEach(draw);
  });
})();
