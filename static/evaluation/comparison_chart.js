// The comparison chart of a project (evaluation/comparison_project.html): per dimension the
// pre and post means as bars, and on the post bar the 95 % interval implied by the CI of the
// mean change, drawn as error bars by a custom series. Data from the JSON in
// <script id="comparison-data" type="application/json">; no inline code (CSP).
(function () {
  function draw(el) {
    var source = document.getElementById(el.dataset.source);
    if (!source || !window.echarts) { return; }
    var data = JSON.parse(source.textContent);
    var bars = data.labels.map(function (_, i) { return [i, data.low[i], data.high[i]]; });
    var chart = window.echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { data: data.names },
      grid: { left: 40, right: 16, bottom: 60, top: 40 },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 4 ? 30 : 0 } },
      yAxis: { type: "value", scale: true },
      series: [
        { name: data.names[0], type: "bar", data: data.before },
        { name: data.names[1], type: "bar", data: data.after },
        {
          name: "95% CI", type: "custom", data: bars, z: 10, tooltip: { show: false },
          renderItem: function (params, api) {
            var index = api.value(0);
            var low = api.coord([index, api.value(1)]);
            var high = api.coord([index, api.value(2)]);
            var band = api.size([1, 0])[0];
            var x = low[0] + band * 0.2;  // over the second (post) bar
            var half = band * 0.06;
            var style = { stroke: "#333", lineWidth: 1.5 };
            return {
              type: "group",
              children: [
                { type: "line", shape: { x1: x, y1: low[1], x2: x, y2: high[1] }, style: style },
                { type: "line", shape: { x1: x - half, y1: low[1], x2: x + half, y2: low[1] }, style: style },
                { type: "line", shape: { x1: x - half, y1: high[1], x2: x + half, y2: high[1] }, style: style }
              ]
            };
          }
        }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("comparison-chart");
    if (el) { draw(el); }
  });
})();
