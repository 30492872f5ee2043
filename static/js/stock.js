// The stock page's chart: candlesticks with volume underneath, raw / qfq / hfq prices
// (one toggle), a daily_basic metric on a price scale of its own, markers where the
// adjustment factor changed and gaps for the days the stock did not trade. It reads
// /stocks/{ts_code}/chart?adj= (the warehouse only) and draws with lightweight-charts.
(function () {
  "use strict";

  var LC = window.LightweightCharts;
  var UP = "#dc2626", DOWN = "#16a34a"; // China: red rises, green falls

  function fmt(v, digits) {
    return v === null || v === undefined ? "—" : Number(v).toFixed(digits);
  }

  // merge puts the suspended days (whitespace: a gap on the time scale) among the bars.
  function merge(ch) {
    var candles = [], volume = [], i = 0, j = 0, sus = ch.suspended || [];
    while (i < ch.dates.length || j < sus.length) {
      if (j >= sus.length || (i < ch.dates.length && ch.dates[i] < sus[j])) {
        var up = ch.close[i] >= ch.open[i];
        candles.push({ time: ch.dates[i], open: ch.open[i], high: ch.high[i], low: ch.low[i], close: ch.close[i] });
        volume.push(ch.vol[i] === null ? { time: ch.dates[i] } :
          { time: ch.dates[i], value: ch.vol[i], color: up ? "rgba(220,38,38,0.45)" : "rgba(22,163,74,0.45)" });
        i++;
      } else {
        candles.push({ time: sus[j] });
        volume.push({ time: sus[j] });
        j++;
      }
    }
    return { candles: candles, volume: volume };
  }

  function metricLine(ch, metric) {
    var values = (ch.metrics && ch.metrics[metric]) || [], out = [];
    for (var i = 0; i < ch.dates.length; i++) {
      out.push(values[i] === null || values[i] === undefined ? { time: ch.dates[i] } : { time: ch.dates[i], value: values[i] });
    }
    return out;
  }

  function factorMarkers(ch, label) {
    return (ch.factor_changes || []).map(function (f) {
      return {
        time: f.date, position: "aboveBar", shape: "arrowDown", color: "#4f46e5",
        text: label.replace("%s", fmt(f.ratio, 4))
      };
    });
  }

  function Chart(el) {
    this.el = el;
    this.legend = document.getElementById("stock-legend");
    this.adj = "raw";
    this.metric = "";
    this.data = null;
    this.chart = LC.createChart(el, {
      autoSize: true,
      layout: { background: { color: "#ffffff" }, textColor: "#334155", fontSize: 12 },
      grid: { vertLines: { color: "#f1f5f9" }, horzLines: { color: "#f1f5f9" } },
      crosshair: { mode: LC.CrosshairMode.Normal },
      rightPriceScale: { borderColor: "#e2e8f0" },
      leftPriceScale: { visible: false, borderColor: "#e2e8f0" },
      timeScale: { borderColor: "#e2e8f0", rightOffset: 3 },
      localization: { locale: document.documentElement.lang || "en" }
    });
    this.candles = this.chart.addSeries(LC.CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderUpColor: UP, borderDownColor: DOWN, wickUpColor: UP, wickDownColor: DOWN
    });
    this.volume = this.chart.addSeries(LC.HistogramSeries, { priceFormat: { type: "volume" }, priceLineVisible: false }, 1);
    this.line = this.chart.addSeries(LC.LineSeries, {
      priceScaleId: "left", color: "#f59e0b", lineWidth: 2, priceLineVisible: false, lastValueVisible: true
    });
    this.markers = LC.createSeriesMarkers(this.candles, []);
    var panes = this.chart.panes();
    if (panes.length > 1) panes[1].setHeight(110);
    this.chart.subscribeCrosshairMove(this.showLegend.bind(this));
  }

  Chart.prototype.load = function (adj) {
    var self = this, url = this.el.getAttribute("data-chart-url") + "?adj=" + encodeURIComponent(adj);
    this.el.setAttribute("aria-busy", "true");
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error(r.status + " " + r.statusText);
        return r.json();
      })
      .then(function (ch) { self.draw(ch, adj); })
      .catch(function (e) {
        self.say(self.el.getAttribute("data-l-error") + " (" + e.message + ")");
      })
      .then(function () { self.el.removeAttribute("aria-busy"); });
  };

  Chart.prototype.draw = function (ch, adj) {
    var first = !this.data, range = first ? null : this.chart.timeScale().getVisibleLogicalRange();
    var m = merge(ch);
    this.data = ch;
    this.adj = adj;
    this.candles.setData(m.candles);
    this.volume.setData(m.volume);
    this.markers.setMarkers(factorMarkers(ch, this.el.getAttribute("data-l-factor")));
    this.drawMetric();
    if (first && m.candles.length > 0) {
      // Start on the latest year; the whole history is a scroll or a zoom away.
      this.chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, m.candles.length - 250), to: m.candles.length + 2 });
    } else if (range) {
      this.chart.timeScale().setVisibleLogicalRange(range);
    }
    var n = ch.dates.length;
    this.el.setAttribute("data-shown-adj", adj);
    this.el.setAttribute("data-bars", String(n));
    this.el.setAttribute("data-first-close", n ? String(ch.close[0]) : "");
    this.el.setAttribute("data-last-close", n ? String(ch.close[n - 1]) : "");
    this.say(n ? "" : this.el.getAttribute("data-l-empty"));
    this.showLegend(null);
  };

  Chart.prototype.drawMetric = function () {
    if (!this.data) return;
    this.line.setData(this.metric ? metricLine(this.data, this.metric) : []);
    this.chart.applyOptions({ leftPriceScale: { visible: this.metric !== "" } });
  };

  Chart.prototype.say = function (text) {
    var note = this.el.querySelector(".chart-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "chart-note";
      note.setAttribute("role", "status");
      this.el.appendChild(note);
    }
    note.textContent = text;
    note.hidden = !text;
  };

  // showLegend writes the crosshair's day (or the latest day) above the chart.
  Chart.prototype.showLegend = function (param) {
    if (!this.legend || !this.data) return;
    var d = this.data, i = d.dates.length - 1, day = i >= 0 ? d.dates[i] : "";
    if (param && param.time) {
      day = typeof param.time === "string" ? param.time :
        param.time.year + "-" + String(param.time.month).padStart(2, "0") + "-" + String(param.time.day).padStart(2, "0");
      i = d.dates.indexOf(day);
    }
    var L = this.legend.dataset;
    if (i < 0) {
      this.legend.textContent = day ? day + " · " + L.lSuspended : "";
      return;
    }
    var parts = [day, L.lOpen + " " + fmt(d.open[i], 2), L.lHigh + " " + fmt(d.high[i], 2),
      L.lLow + " " + fmt(d.low[i], 2), L.lClose + " " + fmt(d.close[i], 2), L.lVol + " " + fmt(d.vol[i], 0)];
    if (this.metric) {
      var sel = document.getElementById("stock-metric");
      parts.push(sel.options[sel.selectedIndex].text + " " + fmt(d.metrics[this.metric][i], 2));
    }
    this.legend.textContent = parts.join("  ");
  };

  function start() {
    var el = document.getElementById("stock-chart");
    if (!el || !LC) return;
    var chart = new Chart(el);
    var buttons = document.querySelectorAll("[data-adj]");
    function select(adj) {
      buttons.forEach(function (b) { b.setAttribute("aria-checked", String(b.getAttribute("data-adj") === adj)); });
      chart.load(adj);
    }
    buttons.forEach(function (b) {
      b.addEventListener("click", function () { select(b.getAttribute("data-adj")); });
    });
    var metric = document.getElementById("stock-metric");
    if (metric) {
      metric.addEventListener("change", function () {
        chart.metric = metric.value;
        chart.drawMetric();
        chart.showLegend(null);
      });
    }
    chart.load("raw");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
