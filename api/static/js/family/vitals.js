// Vitals over the last 24 hours or 7 days: one small uPlot chart per measure.

import { api, list, path } from "../api.js";
import { h, replace } from "../dom.js";
import { message } from "../errors.js";
import { number } from "../format.js";
import { label, t } from "../i18n.js";

const uPlot = window.uPlot;
const RANGES = {
  day: { hours: 24, every: "10m" },
  week: { hours: 24 * 7, every: "1h" },
};
const CHARTS = [
  { name: "heart_rate", fields: ["heart_rate"] },
  { name: "spo2", fields: ["spo2"] },
  { name: "blood_pressure", fields: ["systolic_bp", "diastolic_bp"] },
  { name: "resp_rate", fields: ["resp_rate"] },
  { name: "temperature", fields: ["temperature"] },
];
const COLOURS = ["#1d4ed8", "#be185d"];
const HEIGHT = 150;

export function createVitals(homeId) {
  let range = "day";
  let charts = [];
  const grid = h("div", { class: "charts" });
  const buttons = Object.keys(RANGES).map((key) =>
    h(
      "button",
      {
        type: "button",
        "aria-pressed": String(key === range),
        dataset: { range: key },
        onclick: () => choose(key),
      },
      label("range", key),
    ),
  );
  const panel = h(
    "section",
    { class: "panel vitals-panel", "aria-labelledby": "vitals-title" },
    h(
      "div",
      { class: "panel-head" },
      h("h2", { id: "vitals-title" }, t("vitals.title")),
      h("div", { class: "segmented", role: "group", "aria-label": t("vitals.range") }, buttons),
    ),
    grid,
  );
  const resize = new ResizeObserver(() =>
    charts.forEach((chart) => chart.setSize({ width: width(), height: HEIGHT })),
  );
  resize.observe(grid);

  function width() {
    const columns = grid.clientWidth > 900 ? 2 : 1;
    return Math.max(240, Math.floor(grid.clientWidth / columns) - 24);
  }

  function choose(key) {
    range = key;
    buttons.forEach((button) =>
      button.setAttribute("aria-pressed", String(button.dataset.range === key)),
    );
    load();
  }

  async function load() {
    const { hours, every } = RANGES[range];
    const until = Date.now();
    const since = new Date(until - hours * 3_600_000).toISOString();
    try {
      const points = list(
        await api(
          path`/api/v1/homes/${homeId}/telemetry` +
            `?type=vitals&since=${encodeURIComponent(since)}&every=${every}`,
        ),
      );
      draw(points, [Date.parse(since) / 1000, until / 1000]);
    } catch (error) {
      clear();
      replace(grid, h("p", { class: "bad" }, message(error)));
    }
  }

  function clear() {
    charts.forEach((chart) => chart.destroy());
    charts = [];
  }

  /** One chart per measure over `window` ([from, to] in epoch seconds), however sparse. */
  function draw(points, window) {
    clear();
    const times = points.map((point) => Date.parse(point.time) / 1000);
    replace(
      grid,
      CHARTS.map((chart) => figure(chart, points, times, window)),
    );
  }

  function figure({ name, fields }, points, times, window) {
    const columns = fields.map((field) =>
      points.map((point) =>
        typeof point.fields?.[field] === "number" ? point.fields[field] : null,
      ),
    );
    const values = columns.flat().filter((value) => value !== null);
    const caption = h(
      "figcaption",
      {},
      h("strong", {}, label("chart", name)),
      " ",
      values.length
        ? t("vitals.summary", {
            min: number(Math.min(...values)),
            max: number(Math.max(...values)),
            unit: label("unit", fields[0]),
          })
        : t("vitals.no_data"),
    );
    const box = h("figure", { class: "chart", dataset: { chart: name } }, caption);
    if (values.length) {
      const series = [
        {},
        ...fields.map((field, index) => ({
          label: label("field", field),
          stroke: COLOURS[index],
          width: 2,
          spanGaps: false,
        })),
      ];
      charts.push(
        new uPlot(
          {
            width: width(),
            height: HEIGHT,
            series,
            scales: { x: { time: true, range: () => window } },
            legend: { show: fields.length > 1 },
          },
          [times, ...columns],
          box,
        ),
      );
    }
    return box;
  }

  return {
    panel,
    load,
    remove() {
      resize.disconnect();
      clear();
    },
  };
}
