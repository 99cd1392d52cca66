// Survey results: one ECharts chart per choice question (pie for single choice, bars otherwise), drawn from
// the JSON the page embeds (#chart-data). The table above each chart carries the same numbers for screen readers.
(function () {
  if (typeof echarts === "undefined") return;
  var data = JSON.parse(document.getElementById("chart-data").textContent);
  var charts = [];
  document.querySelectorAll(".chart[data-qid]").forEach(function (box) {
    var d = data[box.getAttribute("data-qid")];
    if (!d) return;
    var chart = echarts.init(box, null, { renderer: "svg" });
    if (d.pie) {
      chart.setOption({
        animation: false,
        tooltip: { trigger: "item", formatter: "{b}:{c}({d}%)" },
        series: [{ type: "pie", radius: "65%", data: d.labels.map(function (l, i) { return { name: l, value: d.counts[i] }; }),
                   label: { formatter: "{b}\n{d}%" } }],
      });
    } else {
      chart.setOption({
        animation: false,
        grid: { left: 8, right: 32, top: 8, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis" },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", inverse: true, data: d.labels, axisLabel: { interval: 0 } },
        series: [{ type: "bar", data: d.counts, label: { show: true, position: "right" } }],
      });
    }
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
