// The unit dashboard's charts, drawn from the JSON blob the page embeds (#dash-data).
(function () {
  var data = JSON.parse(document.getElementById("dash-data").textContent);
  if (typeof echarts === "undefined") return;
  var charts = [];
  var box = document.getElementById("chart-children");
  if (box) {
    var bars = echarts.init(box, null, { renderer: "svg" }); // svg: readable when printed
    var pick = document.getElementById("chart-code");
    var draw = function () {
      var s = data.children.series[Number(pick.value) || 0];
      bars.setOption({
        animation: false,
        grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis" },
        xAxis: { type: "value" },
        yAxis: { type: "category", inverse: true, data: data.children.labels, axisLabel: { interval: 0 } },
        series: [{ type: "bar", name: s.name, data: s.values.map(function (v) { return typeof v === "number" ? v : null; }),
                   label: { show: true, position: "right", formatter: function (p) {
                     var raw = s.values[p.dataIndex]; return raw === null ? "—" : String(raw); } } }],
      }, true);
    };
    pick.addEventListener("change", draw);
    draw();
    bars.on("click", function (p) { window.location.href = data.children.urls[p.dataIndex]; });
    charts.push(bars);
  }
  var trendBox = document.getElementById("chart-trend");
  if (trendBox) {
    var trend = echarts.init(trendBox, null, { renderer: "svg" });
    trend.setOption({
      animation: false,
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: data.trend.months },
      yAxis: { type: "value" },
      series: [{ type: "line", name: data.trend.name, data: data.trend.values, label: { show: true } }],
    });
    charts.push(trend);
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
