// Charts of a survey's results page; the tables beside them carry the same numbers without JavaScript.
document.addEventListener("DOMContentLoaded", function () {
  var data = JSON.parse(document.getElementById("survey-chart-data").textContent);
  if (typeof Chart === "undefined") { return; }
  new Chart(document.getElementById("parameter-chart"), {
    type: "bar",
    data: { labels: data.parameters.labels, datasets: [{ label: data.average_label, data: data.parameters.averages }] },
    options: { indexAxis: "y", scales: { x: { min: 1, max: 5 } } }
  });
  new Chart(document.getElementById("breakdown-chart"), {
    type: data.breakdown.labels.length > 1 ? "line" : "bar",
    data: { labels: data.breakdown.labels, datasets: [{ label: data.nps_label, data: data.breakdown.nps }] },
    options: { scales: { y: { min: -100, max: 100 } } }
  });
});
