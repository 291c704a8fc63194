// The domain dashboard's chart (data from #chart-data, built by reports/dashboards/chart_data.py).
// A real time axis: a day (or week, month) without reports is a gap, the success-rate line
// breaks there (never zero, never drawn across). Marks say what changed that day, in their
// tooltip. A log-scale switch (kept in localStorage) shows a few failures beside many
// successes. Colours are the theme's CSS variables; the chart redraws on "themechange".
(() => {
  const SCALE_KEY = "dashboard-chart-scale";
  const MARKS = [
    { key: "dns_changes", label: "DNS check changed", style: "star", colour: "--tr-chart-mark-dns", y: 0.965, radius: 8 },
    { key: "policy_changes", label: "MTA-STS policy changed", style: "rectRot", colour: "--tr-chart-mark-policy", y: 0.915, radius: 6 },
    { key: "probe_findings", label: "MX TLS probe changed", style: "triangle", colour: "--tr-chart-mark-probe", y: 0.865, radius: 6 },
  ];
  const FORMATS = { day: "MMM d", week: "MMM d", month: "MMM yyyy", year: "yyyy" };
  const TOOLTIP_FORMATS = { day: "EEE d MMM yyyy", week: "'Week of' d MMM yyyy", month: "MMMM yyyy", year: "yyyy" };

  // The top sixth of the plot is kept for the marks: bars and the rate line stay below it.
  const HEADROOM = 1.2;

  // A thin dashed line from each mark down to the axis, in the mark's colour.
  const markLines = {
    id: "markLines",
    beforeDatasetsDraw(chart) {
      const { ctx, chartArea } = chart;
      chart.data.datasets.forEach((set, i) => {
        if (!set.texts || !chart.isDatasetVisible(i)) return;
        ctx.save();
        ctx.strokeStyle = set.borderColor;
        ctx.globalAlpha = 0.55;
        ctx.setLineDash([3, 3]);
        for (const point of chart.getDatasetMeta(i).data) {
          if (point.skip) continue;
          ctx.beginPath();
          ctx.moveTo(point.x, point.y);
          ctx.lineTo(point.x, chartArea.bottom);
          ctx.stroke();
        }
        ctx.restore();
      });
    },
  };

  const narrow = () => window.innerWidth < 576; // a phone: no axis titles, the plot first

  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  const number = (value) => (value === null || value === undefined ? "" : Number(value).toLocaleString("en"));

  const readLog = () => {
    try {
      return window.localStorage.getItem(SCALE_KEY) === "log";
    } catch (error) {
      return false;
    }
  };
  const saveLog = (log) => {
    try {
      window.localStorage.setItem(SCALE_KEY, log ? "log" : "linear");
    } catch (error) {
      // storage refused (privacy mode): the switch still works on this page
    }
  };

  // On a log scale a zero cannot be drawn: that bar is left out (the table has the zero).
  const forScale = (values, log) => values.map((v) => (log && v === 0 ? null : v));

  function datasets(data, log) {
    const sets = [];
    const bar = { type: "bar", yAxisID: "y", barPercentage: 0.9, categoryPercentage: log ? 0.8 : 0.9, borderRadius: 2, stack: log ? undefined : "sessions" };
    if (data.successful.some((v) => v)) {
      sets.push({ ...bar, label: "Successful sessions", data: forScale(data.successful, log), backgroundColor: css("--tr-chart-ok"), order: 3 });
    }
    if (data.failed.some((v) => v)) {
      sets.push({ ...bar, label: "Failed sessions", data: forScale(data.failed, log), backgroundColor: css("--tr-chart-fail"), order: 2 });
    }
    if (data.rate.some((v) => v !== null)) {
      sets.push({
        type: "line", label: "Success rate (%)", data: data.rate, yAxisID: "rate", order: 1,
        borderColor: css("--tr-chart-rate"), backgroundColor: css("--tr-chart-rate"), borderWidth: 2,
        pointRadius: data.days.length > 31 ? 0 : 2.5, pointHoverRadius: 4, pointStyle: "circle",
        spanGaps: false, tension: 0,
      });
    }
    for (const mark of MARKS) {
      const marks = data[mark.key] || {};
      if (!Object.keys(marks).length) continue; // no empty legend entries
      const colour = css(mark.colour);
      sets.push({
        type: "line", label: mark.label, yAxisID: "marks", order: 0, showLine: false,
        data: data.days.map((d) => (marks[d] ? mark.y : null)), texts: data.days.map((d) => marks[d] || null),
        pointStyle: mark.style, pointRadius: mark.radius, pointHoverRadius: mark.radius + 2,
        borderColor: colour, backgroundColor: colour, borderWidth: 2,
      });
    }
    return sets;
  }

  function sessionsAxis(log, text, grid, title) {
    const common = { position: "left", grid: { color: grid }, title: { display: !narrow(), text: title, color: text } };
    if (!log) {
      return {
        ...common, type: "linear", stacked: true, beginAtZero: true,
        afterDataLimits: (axis) => { axis.max = Math.max(1, axis.max) * HEADROOM; },
        ticks: { precision: 0, color: text, callback: number },
      };
    }
    return {
      ...common, type: "logarithmic", stacked: false, min: 1,
      afterDataLimits: (axis) => { axis.max = Math.max(10, axis.max) ** HEADROOM; },
      ticks: { color: text, callback: (v) => (Number.isInteger(Math.log10(v)) ? number(v) : "") },
    };
  }

  function options(data, log) {
    const text = css("--tr-chart-text");
    const grid = css("--tr-chart-grid");
    return {
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      color: text,
      plugins: {
        legend: {
          position: "bottom",
          labels: {
            usePointStyle: true, color: text, boxWidth: 8, boxHeight: 8, padding: 12,
            font: { size: narrow() ? 11 : 12 },
            sort: (a, b) => a.datasetIndex - b.datasetIndex, // as listed, not in drawing order
          },
        },
        tooltip: {
          callbacks: {
            label: (item) => {
              if (item.dataset.texts) return item.dataset.texts[item.dataIndex];
              if (item.raw === null) return null;
              const unit = item.dataset.yAxisID === "rate" ? " %" : "";
              return `${item.dataset.label}: ${number(item.raw)}${unit}`;
            },
          },
        },
      },
      scales: {
        x: {
          type: "time",
          stacked: !log,
          offset: true,
          time: { unit: data.unit, isoWeekday: true, displayFormats: FORMATS, tooltipFormat: TOOLTIP_FORMATS[data.unit] },
          ticks: { color: text, maxRotation: 0, autoSkip: true, autoSkipPadding: 16 },
          grid: { color: grid, offset: false },
          title: { display: true, text: data.axis_title, color: text },
        },
        y: sessionsAxis(log, text, grid, log ? "Sessions (log scale)" : "Sessions"),
        rate: {
          axis: "y", position: "right", min: 0, max: 100 * HEADROOM, grid: { drawOnChartArea: false },
          ticks: { color: text, stepSize: 20, callback: (v) => (v <= 100 ? `${v} %` : "") },
          title: { display: !narrow(), text: "Success rate", color: text },
          display: data.rate.some((v) => v !== null),
        },
        marks: { axis: "y", display: false, min: 0, max: 1 }, // axis: no dataset may use it
      },
    };
  }

  function draw(canvas, data, log) {
    const existing = window.Chart.getChart(canvas);
    if (existing) existing.destroy();
    const chart = new window.Chart(canvas, {
      data: { labels: data.days, datasets: datasets(data, log) },
      options: options(data, log),
      plugins: [markLines],
    });
    canvas.dataset.scale = log ? "logarithmic" : "linear";
    return chart;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const canvas = document.getElementById("daily-chart");
    const source = document.getElementById("chart-data");
    if (!canvas || !source || !window.Chart) return;
    const data = JSON.parse(source.textContent);
    const toggle = document.getElementById("chart-log");
    let log = readLog();
    if (toggle) {
      toggle.checked = log;
      document.getElementById("chart-scale").hidden = false;
      toggle.addEventListener("change", () => {
        log = toggle.checked;
        saveLog(log);
        draw(canvas, data, log);
      });
    }
    draw(canvas, data, log);
    document.addEventListener("themechange", () => draw(canvas, data, log));
  });
})();
