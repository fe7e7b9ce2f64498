// Choosing who goes: the eligible workers near the home, in the order matching would ask
// them (nearest first), and, where it applies, the automatic choice.

import { api, list } from "../api.js";
import { h, replace } from "../dom.js";
import { message } from "../errors.js";
import { distance, number } from "../format.js";
import { t } from "../i18n.js";

/**
 * A modal dialog. `candidates`: the API path listing them; `automatic`: offer "let
 * matching choose" (picked as null); `send(workerId)`: does the work, and the dialog
 * closes once it succeeds (an error stays on show in the dialog).
 */
export function pickWorker({ title, candidates, automatic, send }) {
  const choices = h(
    "fieldset",
    { class: "candidates" },
    h("legend", {}, t("dispatch.choose")),
    automatic ? choice("", t("dispatch.automatic"), t("dispatch.automatic_hint"), true) : null,
  );
  const problem = h("p", { class: "form-error", role: "alert" });
  const status = h("p", { class: "muted", "aria-live": "polite" }, t("common.loading"));
  const submit = h("button", { type: "submit", class: "primary" }, t("dispatch.send"));
  const dialog = h(
    "dialog",
    { class: "dispatch-dialog", "aria-labelledby": "dispatch-title" },
    h(
      "form",
      { onsubmit: (event) => picked(event) },
      h("h2", { id: "dispatch-title" }, title),
      status,
      choices,
      problem,
      h(
        "div",
        { class: "button-row" },
        submit,
        h("button", { type: "button", onclick: () => dialog.close() }, t("common.close")),
      ),
    ),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  load();

  async function load() {
    try {
      const found = list(await api(candidates));
      status.textContent = found.length
        ? t("dispatch.nearby", { count: found.length })
        : t(automatic ? "dispatch.none" : "dispatch.nobody");
      found.forEach((candidate, index) => {
        const rating = candidate.rating_count ? number(candidate.rating) : t("dispatch.unrated");
        const detail = t("dispatch.candidate", {
          distance: distance(candidate.distance_m),
          rating,
          jobs: candidate.active_jobs ?? 0,
        });
        const first = !automatic && index === 0;
        choices.append(
          choice(candidate.worker_id, candidate.name ?? candidate.worker_id, detail, first),
        );
      });
    } catch (error) {
      replace(status, t("dispatch.no_candidates", { problem: message(error) }));
    }
  }

  async function picked(event) {
    event.preventDefault();
    problem.textContent = "";
    const workerId = new FormData(event.target).get("worker") || null;
    if (!workerId && !automatic) {
      problem.textContent = t("dispatch.pick_one");
      return;
    }
    submit.disabled = true;
    try {
      await send(workerId);
      dialog.close();
    } catch (error) {
      problem.textContent = message(error);
      submit.disabled = false;
    }
  }
}

function choice(value, name, detail, checked = false) {
  return h(
    "label",
    { class: "candidate" },
    h("input", { type: "radio", name: "worker", value, checked }),
    h("span", {}, h("strong", {}, name), h("span", { class: "muted" }, detail)),
  );
}
