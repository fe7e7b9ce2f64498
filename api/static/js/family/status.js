// A home at a glance: the resident, open alerts, last activity, latest vitals, devices.

import { api, path } from "../api.js";
import { h, replace } from "../dom.js";
import { message } from "../errors.js";
import { ago, dateTime, number } from "../format.js";
import { label, t } from "../i18n.js";
import { severityBadge, statusBadge } from "../severity.js";

const VITALS = ["heart_rate", "spo2", "systolic_bp", "diastolic_bp", "resp_rate", "temperature"];

export function createStatus(homeId) {
  const panel = h(
    "section",
    { class: "panel status-panel", "aria-labelledby": "status-title" },
    h("h2", { id: "status-title" }, t("status.title")),
    h("p", { class: "muted" }, t("common.loading")),
  );

  async function load() {
    try {
      render(await api(path`/api/v1/homes/${homeId}/status`));
    } catch (error) {
      replace(
        panel,
        h("h2", { id: "status-title" }, t("status.title")),
        h("p", { class: "bad" }, message(error)),
      );
    }
  }

  function render(status) {
    const alerts = status.open_alerts ?? [];
    const devices = status.devices ?? [];
    const troubled = devices.filter((device) => device.ok === false);
    const vitals = status.latest?.vitals;
    replace(
      panel,
      h("h2", { id: "status-title" }, status.resident?.name || status.home_id),
      h(
        "p",
        { class: "muted" },
        status.address || status.home_id,
        status.away ? h("span", { class: "badge" }, t("status.away")) : null,
      ),
      h("h3", {}, t("status.alerts")),
      alerts.length
        ? h(
            "ul",
            { class: "plain" },
            alerts.map((alert) =>
              h(
                "li",
                {},
                severityBadge(alert.severity),
                " ",
                h("strong", {}, label("kind", alert.kind)),
                " ",
                statusBadge("status", alert.status),
                " ",
                h("span", { class: "muted" }, ago(alert.opened_at)),
              ),
            ),
          )
        : h("p", { class: "good" }, t("status.no_alerts")),
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, t("status.last_activity")),
        h(
          "dd",
          {},
          status.last_activity
            ? t("status.activity", {
                when: ago(status.last_activity.at),
                where:
                  label("room", status.last_activity.place ?? "") ||
                  label("telemetry", status.last_activity.type),
              })
            : t("status.no_activity"),
        ),
        h("dt", {}, t("status.devices")),
        h(
          "dd",
          { class: troubled.length ? "bad" : "good" },
          troubled.length
            ? troubled
                .flatMap((device) =>
                  (device.problems ?? []).map(
                    (p) => `${device.device_id}: ${label("kind", p.kind)}`,
                  ),
                )
                .join("; ")
            : t("status.devices_ok", { count: devices.length }),
        ),
      ),
      h("h3", {}, t("status.latest_vitals")),
      vitals
        ? h(
            "div",
            {},
            h(
              "dl",
              { class: "vitals" },
              VITALS.filter(
                (name) => vitals.fields?.[name] !== undefined && vitals.fields[name] !== null,
              ).map((name) => [
                h("dt", {}, label("field", name)),
                h("dd", {}, `${number(vitals.fields[name])} ${label("unit", name)}`),
              ]),
            ),
            h("p", { class: "muted" }, t("status.measured", { when: dateTime(vitals.time) })),
          )
        : h("p", { class: "empty" }, t("status.no_vitals")),
    );
  }

  return { panel, load };
}
