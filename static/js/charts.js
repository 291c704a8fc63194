// The domain dashboard's daily chart, from the data the page put in #chart-data.
// Colour is not the only cue: failed bars are hatched by their border, the rate is a line.
document.addEventListener("DOMContentLoaded", () => {
  const canvas = document.getElementById("daily-chart");
  const source = document.getElementById("chart-data");
  if (!canvas || !source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  // Days a DNS check's result changed: a star above that day's bar, the change in its tooltip.
  const marks = data.dns_changes || {};
  const top = Math.max(1, ...data.successful.map((s, i) => s + data.failed[i]));
  const stars = data.days.map((d) => (marks[d] ? top : null));
  // Days the hosted MTA-STS policy changed (a person's or the product's): a diamond, what changed in its tooltip.
  const policyMarks = data.policy_changes || {};
  const diamonds = data.days.map((d) => (policyMarks[d] ? top * 0.9 : null));
  new Chart(canvas, {
    data: {
      labels: data.days,
      datasets: [
        { type: "bar", label: "Successful sessions", data: data.successful, backgroundColor: "#198754", stack: "s", yAxisID: "y" },
        { type: "bar", label: "Failed sessions", data: data.failed, backgroundColor: "#dc3545", borderColor: "#000", borderWidth: 1, stack: "s", yAxisID: "y" },
        { type: "line", label: "Success rate (%)", data: data.rate, borderColor: "#0d6efd", borderDash: [6, 3], pointStyle: "triangle", yAxisID: "rate", spanGaps: true },
        { type: "line", label: "DNS check changed", data: stars, showLine: false, pointStyle: "star", pointRadius: 10, pointHoverRadius: 12, borderColor: "#6f42c1", backgroundColor: "#6f42c1", borderWidth: 2, yAxisID: "y", hidden: !Object.keys(marks).length },
        { type: "line", label: "MTA-STS policy changed", data: diamonds, showLine: false, pointStyle: "rectRot", pointRadius: 9, pointHoverRadius: 11, borderColor: "#fd7e14", backgroundColor: "#fd7e14", borderWidth: 2, yAxisID: "y", hidden: !Object.keys(policyMarks).length },
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        tooltip: {
          callbacks: {
            label: (item) => item.dataset.label === "DNS check changed"
              ? marks[data.days[item.dataIndex]]
              : item.dataset.label === "MTA-STS policy changed"
                ? policyMarks[data.days[item.dataIndex]]
                : `${item.dataset.label}: ${item.formattedValue}`,
          },
        },
      },
      scales: {
        y: { stacked: true, beginAtZero: true, title: { display: true, text: "Sessions" } },
        rate: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, title: { display: true, text: "Success rate (%)" } },
        x: { stacked: true },
      },
    },
  });
});
