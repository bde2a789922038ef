// Draws every <div data-chart="ID"> from the JSON in <script id="ID" type="application/json">.
// Kept in a file (no inline script) so the Content-Security-Policy can forbid inline code.
(function () {
  // Numbers as the pages show them (core/templatetags/yanxiu.py): 12,345 and 1,234.5; written
  // out here rather than by toLocaleString so the browser's locale cannot change them.
  function number(value) {
    if (typeof value !== "number" || !isFinite(value)) { return value; }
    var text = Number.isInteger(value) ? String(value) : value.toFixed(1);
    var parts = text.split(".");
    parts[0] = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return parts.join(".");
  }
  function valueAxes(axes) {
    [].concat(axes || []).forEach(function (axis) {
      if (axis && axis.type === "value") {
        axis.axisLabel = axis.axisLabel || {};
        if (!axis.axisLabel.formatter) { axis.axisLabel.formatter = number; }
      }
    });
  }
  function draw(el) {
    var source = document.getElementById(el.dataset.chart);
    if (!source || !window.echarts) { return; }
    var spec = JSON.parse(source.textContent);
    if (spec.tooltip && !spec.tooltip.valueFormatter) { spec.tooltip.valueFormatter = number; }
    valueAxes(spec.xAxis);
    valueAxes(spec.yAxis);
    var chart = window.echarts.init(el);
    chart.setOption(spec);
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
  });
})();
