// One alert in full: what happened, where, the evidence, every step of its history.

import { api, path } from "../api.js";
import { h, replace } from "../dom.js";
import { message } from "../errors.js";
import { dateTime } from "../format.js";
import { label, t } from "../i18n.js";
import { severityBadge, statusBadge } from "../severity.js";
import { alertActions } from "./alert-actions.js";

/** The detail panel; `homeOf(id)` gives a home already loaded (or nothing). */
export function createAlertDetail({ homeOf }) {
  const panel = h("section", { class: "panel detail", "aria-labelledby": "detail-title" });
  let shown = null;
  clear();

  function clear() {
    shown = null;
    replace(
      panel,
      h("h2", { id: "detail-title" }, t("detail.title")),
      h("p", { class: "empty" }, t("detail.none")),
    );
  }

  async function show(alertId) {
    shown = alertId;
    try {
      const alert = await api(path`/api/v1/alerts/${alertId}`);
      if (shown === alertId) render(alert);
    } catch (error) {
      if (shown === alertId)
        replace(
          panel,
          h("h2", { id: "detail-title" }, t("detail.title")),
          h("p", { class: "bad" }, message(error)),
        );
    }
  }

  function render(alert) {
    const home = homeOf(alert.home_id);
    replace(
      panel,
      h("h2", { id: "detail-title" }, label("kind", alert.kind)),
      h(
        "p",
        { class: "badges" },
        severityBadge(alert.severity),
        statusBadge("status", alert.status),
      ),
      alert.summary ? h("p", { class: "summary" }, alert.summary) : null,
      h(
        "dl",
        { class: "facts" },
        fact(t("detail.home"), [alert.home_id, home?.address ? ` · ${home.address}` : ""]),
        home?.resident?.name ? fact(t("detail.resident"), home.resident.name) : null,
        fact(t("detail.service"), label("service", alert.service)),
        fact(t("detail.opened"), dateTime(alert.opened_at)),
        alert.ack_deadline && alert.status === "open"
          ? fact(t("detail.ack_by"), dateTime(alert.ack_deadline))
          : null,
        alert.escalation_level
          ? fact(t("detail.escalation"), String(alert.escalation_level))
          : null,
        Object.entries(alert.details ?? {}).map(([name, value]) =>
          fact(name, Array.isArray(value) ? value.join(", ") : String(value ?? "—")),
        ),
      ),
      alertActions(alert, { onDone: () => show(alert.alert_id) }),
      evidence(alert),
      history(alert),
    );
  }

  return {
    panel,
    show,
    /** Reload if `alertId` is the alert on show (it changed). */
    changed(alertId) {
      if (alertId === shown) show(alertId);
    },
  };
}

function fact(term, value) {
  return [h("dt", {}, term), h("dd", {}, value)];
}

function evidence(alert) {
  const items = alert.evidence ?? [];
  return h(
    "section",
    { "aria-labelledby": "evidence-title" },
    h("h3", { id: "evidence-title" }, t("detail.evidence")),
    items.length
      ? h(
          "table",
          { class: "table" },
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              [t("detail.time"), t("detail.device"), t("detail.type"), t("detail.values")].map(
                (c) => h("th", { scope: "col" }, c),
              ),
            ),
          ),
          h(
            "tbody",
            {},
            items.map((item) =>
              h(
                "tr",
                {},
                h("td", {}, dateTime(item.ts)),
                h("td", {}, item.device_id),
                h("td", {}, label("telemetry", item.type)),
                h(
                  "td",
                  {},
                  Object.entries(item.values ?? {})
                    .map(([k, v]) => `${label("field", k)} ${v}`)
                    .join(", "),
                ),
              ),
            ),
          ),
        )
      : h("p", { class: "empty" }, t("detail.no_evidence")),
    alert.evidence_omitted
      ? h("p", { class: "muted" }, t("detail.omitted", { count: alert.evidence_omitted }))
      : null,
  );
}

function history(alert) {
  return h(
    "section",
    { "aria-labelledby": "history-title" },
    h("h3", { id: "history-title" }, t("detail.history")),
    h(
      "ol",
      { class: "history" },
      (alert.history ?? []).map((step) =>
        h(
          "li",
          {},
          h("time", { datetime: step.at }, dateTime(step.at)),
          " ",
          h("strong", {}, label("event", step.event)),
          " ",
          h("span", { class: "muted" }, step.actor),
          step.reason ? h("q", {}, step.reason) : null,
        ),
      ),
    ),
  );
}
