// The dispatcher's console: the live alert queue, one alert in detail, the map, the jobs.

import { api, list } from "../api.js";
import { h } from "../dom.js";
import { message } from "../errors.js";
import { t } from "../i18n.js";
import { notify } from "../notice.js";
import { followAlerts } from "../stream.js";
import { createAlertDetail } from "./alert-detail.js";
import { createJobs } from "./jobs.js";
import { createMap } from "./map.js";
import { createQueue } from "./queue.js";

const ACTIVE = ["open", "acknowledged", "dispatched"];
const TICK_MS = 30_000;
const JOBS_MS = 15_000;

async function activeAlerts() {
  const lists = await Promise.all(
    ACTIVE.map((status) => api(`/api/v1/alerts?status=${status}&limit=1000`)),
  );
  return lists.flatMap(list);
}

export function dispatcherView(main) {
  const homes = new Map();
  const detail = createAlertDetail({ homeOf: (homeId) => homes.get(homeId) });
  const jobs = createJobs();
  const queue = createQueue({
    onSelect(alert) {
      if (!alert) return;
      detail.show(alert.alert_id);
      map.focus(alert.home_id);
    },
  });
  const live = h("span", { class: "live-state", "aria-live": "polite" }, t("queue.connecting"));
  const mapElement = h("div", { class: "map", role: "region", "aria-label": t("map.title") });
  main.append(
    h(
      "div",
      { class: "dispatcher" },
      h(
        "section",
        { class: "panel queue-panel", "aria-labelledby": "queue-title" },
        h(
          "div",
          { class: "panel-head" },
          h("h2", { id: "queue-title" }, t("queue.title"), " ", queue.count),
          live,
        ),
        queue.list,
      ),
      detail.panel,
      h(
        "section",
        { class: "panel map-panel", "aria-labelledby": "map-title" },
        h("h2", { id: "map-title" }, t("map.title")),
        mapElement,
        h(
          "p",
          { class: "legend" },
          h("span", { class: "legend-home" }, t("map.legend_home")),
          h("span", { class: "legend-alert" }, t("map.legend_alert")),
          h("span", { class: "legend-worker" }, t("map.legend_worker")),
          h("span", { class: "legend-radius" }, t("map.legend_radius")),
        ),
      ),
      jobs.panel,
    ),
  );
  const map = createMap(mapElement);

  async function loadHomes() {
    try {
      for (const home of list(await api("/api/v1/homes?limit=10000")))
        homes.set(home.home_id, home);
      map.showHomes([...homes.values()]);
    } catch (error) {
      notify(message(error), "error");
    }
  }

  async function loadWorkers() {
    try {
      map.showWorkers(list(await api("/api/v1/workers")));
    } catch (error) {
      notify(t("map.workers_unavailable", { problem: message(error) }), "error");
    }
  }

  const stopStream = followAlerts({
    onAlert(change) {
      queue.apply(change);
      map.showAlerts(queue.all());
      detail.changed(change.alert_id);
      jobs.load();
    },
    onOpen() {
      queue.reload(activeAlerts).then(
        () => map.showAlerts(queue.all()),
        (error) => notify(message(error), "error"),
      );
    },
    onState(state) {
      live.textContent = t(state === "live" ? "queue.live" : "queue.reconnecting");
      live.dataset.state = state;
    },
  });
  loadHomes();
  loadWorkers();
  jobs.load();
  const timers = [
    setInterval(() => {
      queue.render();
      loadWorkers();
    }, TICK_MS),
    setInterval(jobs.load, JOBS_MS),
  ];
  return () => {
    stopStream();
    timers.forEach(clearInterval);
    map.remove();
  };
}
