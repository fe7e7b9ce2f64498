// What a dispatcher may do with an alert in its current status (CONTRACT §2 lifecycle).

import { api, path } from "../api.js";
import { field, h } from "../dom.js";
import { message } from "../errors.js";
import { label, t } from "../i18n.js";
import { notify } from "../notice.js";
import { pickWorker } from "./worker-picker.js";

const ACTIONS = [
  { action: "acknowledge", from: ["open"], style: "primary" },
  { action: "dispatch", from: ["open", "acknowledged"], style: "primary" },
  { action: "resolve", from: ["open", "acknowledged", "dispatched"], style: "" },
  { action: "cancel", from: ["open", "acknowledged", "dispatched"], style: "danger" },
];

/** The action buttons and the reason box for `alert`; `onDone()` after a change. */
export function alertActions(alert, { onDone }) {
  const available = ACTIONS.filter(({ from }) => from.includes(alert.status));
  if (!available.length) return null;
  const reason = h("textarea", { name: "reason", rows: 2, maxlength: 500 });
  const problem = h("p", { class: "form-error", role: "alert" });

  async function run(action, button) {
    problem.textContent = "";
    const text = reason.value.trim();
    if (action === "dispatch") {
      dispatch(alert, text, onDone);
      return;
    }
    if (action === "cancel" && !text) {
      problem.textContent = t("actions.reason_required");
      reason.focus();
      return;
    }
    button.disabled = true;
    try {
      await api(path`/api/v1/alerts/${alert.alert_id}/${action}`, {
        method: "POST",
        json: { reason: text },
      });
      notify(t("actions.done", { action: label("action", action) }));
      onDone();
    } catch (error) {
      problem.textContent = message(error);
      button.disabled = false;
    }
  }

  return h(
    "section",
    { class: "actions", "aria-labelledby": "actions-title" },
    h("h3", { id: "actions-title" }, t("actions.title")),
    field(t("actions.reason"), reason, t("actions.reason_hint")),
    h(
      "div",
      { class: "button-row" },
      available.map(({ action, style }) =>
        h(
          "button",
          {
            type: "button",
            class: style,
            dataset: { action },
            onclick: (event) => run(action, event.currentTarget),
          },
          label("action", action),
        ),
      ),
    ),
    problem,
  );
}

/** Help sent: by matching's own choice, or to the worker the dispatcher picks. */
function dispatch(alert, reason, onDone) {
  pickWorker({
    title: t("dispatch.title", { home: alert.home_id }),
    candidates: path`/api/v1/alerts/${alert.alert_id}/candidates`,
    automatic: true,
    async send(workerId) {
      const body = workerId ? { reason, worker_id: workerId } : { reason };
      await api(path`/api/v1/alerts/${alert.alert_id}/dispatch`, { method: "POST", json: body });
      notify(t("dispatch.sent"));
      onDone();
    },
  });
}
