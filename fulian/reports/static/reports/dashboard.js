// The unit dashboard's charts, drawn from the JSON blob the page embeds (#dash-data). SVG renderer and no
// animation at all: the charts print as they are shown, and a print never catches a bar half-grown.
(function () {
  var data = JSON.parse(document.getElementById("dash-data").textContent);
  if (typeof echarts === "undefined") return;
  var charts = [];
  var numbers = function (values) { return values.map(function (v) { return typeof v === "number" ? v : null; }); };
  var box = document.getElementById("chart-children");
  if (box) {
    var bars = echarts.init(box, null, { renderer: "svg" });
    var pick = document.getElementById("chart-code");
    var draw = function () {
      var s = data.children.series[Number(pick.value) || 0];
      bars.setOption({
        animation: false,
        backgroundColor: "#fff",
        // the indicator's name on the chart itself: the picker is not printed
        title: { text: s.name + "(" + s.unit + ")", left: "center", textStyle: { fontSize: 13, color: "#000" } },
        grid: { left: 8, right: 40, top: 32, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis" },
        xAxis: { type: "value" },
        // triggerEvent: a click on a unit's name drills down too
        yAxis: { type: "category", inverse: true, data: data.children.labels, triggerEvent: true,
                 axisLabel: { interval: 0, color: "#000" } },
        series: [{ type: "bar", name: s.name, data: numbers(s.values), cursor: "pointer",
                   label: { show: true, position: "right", color: "#000", formatter: function (p) {
                     var raw = s.values[p.dataIndex]; return raw === null ? "—" : String(raw); } } }],
      }, true);
    };
    pick.addEventListener("change", draw);
    draw();
    bars.on("click", function (p) {
      var i = p.componentType === "yAxis" ? data.children.labels.indexOf(p.value) : p.dataIndex;
      if (i >= 0 && data.children.urls[i]) window.location.href = data.children.urls[i];
    });
    charts.push(bars);
  }
  var trendBox = document.getElementById("chart-trend");
  if (trendBox) {
    var trend = echarts.init(trendBox, null, { renderer: "svg" });
    var trendPick = document.getElementById("trend-code");
    var drawTrend = function () {
      var s = data.trend.series[Number(trendPick.value) || 0];
      trend.setOption({
        animation: false,
        backgroundColor: "#fff",
        title: { text: s.name + "(" + s.unit + ")", left: "center", textStyle: { fontSize: 13, color: "#000" } },
        grid: { left: 8, right: 16, top: 40, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: data.trend.months, axisLabel: { color: "#000" } },
        yAxis: { type: "value", name: s.unit },
        series: [{ type: "line", name: s.name, data: numbers(s.values), label: { show: true, color: "#000" } }],
      }, true);
    };
    trendPick.addEventListener("change", drawTrend);
    drawTrend();
    charts.push(trend);
  }
  var resize = function () { charts.forEach(function (c) { c.resize(); }); };
  window.addEventListener("resize", resize);
  // paper is narrower than most screens: redraw at the printed width, open the tables, and restore afterwards
  var opened = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.print-open:not([open])").forEach(function (d) { d.open = true; opened.push(d); });
    resize();
  });
  window.addEventListener("afterprint", function () {
    opened.forEach(function (d) { d.open = false; }); opened = [];
    resize();
  });
})();
