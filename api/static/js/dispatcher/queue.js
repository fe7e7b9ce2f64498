// The live queue: active alerts, most severe first, then longest waiting first.

import { h, replace } from "../dom.js";
import { ago } from "../format.js";
import { label, t } from "../i18n.js";
import { severityBadge, severityRank, statusBadge } from "../severity.js";

const ACTIVE = new Set(["open", "acknowledged", "dispatched"]);

function newer(a, b) {
  return !b || Date.parse(a.updated_at) >= Date.parse(b.updated_at);
}

function order(a, b) {
  return (
    severityRank(a.severity) - severityRank(b.severity) ||
    Date.parse(a.opened_at) - Date.parse(b.opened_at)
  );
}

/** The queue's list element and what the view does with it. */
export function createQueue({ onSelect }) {
  const alerts = new Map();
  const fresh = new Set();
  let selected = null;
  let arrivedDuringReload = null;
  const list = h("ol", { class: "queue", "aria-label": t("queue.title") });
  const count = h("span", { class: "count" }, "0");

  function render() {
    const items = [...alerts.values()].sort(order);
    count.textContent = String(items.length);
    replace(list, items.length ? items.map(item) : h("li", { class: "empty" }, t("queue.empty")));
  }

  function item(alert) {
    const isNew = fresh.has(alert.alert_id);
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: `queue-item sev-edge-${alert.severity}${isNew ? " is-new" : ""}`,
          "aria-pressed": String(alert.alert_id === selected),
          dataset: { alertId: alert.alert_id, status: alert.status },
          onclick: () => select(alert.alert_id),
        },
        h(
          "span",
          { class: "queue-line" },
          severityBadge(alert.severity),
          h("strong", {}, label("kind", alert.kind)),
          statusBadge("status", alert.status),
        ),
        h(
          "span",
          { class: "queue-line muted" },
          t("queue.home", { home: alert.home_id }),
          " · ",
          h("time", { datetime: alert.opened_at }, ago(alert.opened_at)),
        ),
        alert.summary ? h("span", { class: "queue-summary" }, alert.summary) : null,
      ),
    );
  }

  function select(alertId) {
    selected = alertId;
    fresh.delete(alertId);
    render();
    onSelect(alerts.get(alertId) ?? null);
  }

  function put(change) {
    const known = alerts.get(change.alert_id);
    if (!newer(change, known)) return;
    if (ACTIVE.has(change.status)) {
      if (!known) fresh.add(change.alert_id);
      alerts.set(change.alert_id, { ...known, ...change });
    } else {
      alerts.delete(change.alert_id);
    }
  }

  return {
    count,
    list,
    /** One change from the stream: added, updated, or gone once closed. */
    apply(change) {
      arrivedDuringReload?.set(change.alert_id, change);
      put(change);
      render();
    },
    /** Replace the queue by what `load()` lists; changes that arrive meanwhile win if newer. */
    async reload(load) {
      arrivedDuringReload = new Map();
      try {
        const listed = await load();
        alerts.clear();
        for (const alert of listed) if (ACTIVE.has(alert.status)) alerts.set(alert.alert_id, alert);
        for (const change of arrivedDuringReload.values()) put(change);
      } finally {
        arrivedDuringReload = null;
        render();
      }
    },
    get(alertId) {
      return alerts.get(alertId) ?? null;
    },
    all() {
      return [...alerts.values()];
    },
    /** Redraw (ages move on). */
    render,
  };
}
