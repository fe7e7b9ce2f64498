// The home's service history: bookings and alert dispatches, and rating a completed one.

import { api, list, path } from "../api.js";
import { h, replace } from "../dom.js";
import { message } from "../errors.js";
import { dateTime } from "../format.js";
import { label, t } from "../i18n.js";
import { notify } from "../notice.js";
import { statusBadge } from "../severity.js";

export function createServices(homeId) {
  const body = h("div", {}, h("p", { class: "muted" }, t("common.loading")));
  const panel = h(
    "section",
    { class: "panel services-panel", "aria-labelledby": "services-title" },
    h("h2", { id: "services-title" }, t("services.title")),
    body,
  );

  async function load() {
    try {
      const jobs = list(await api("/api/v1/dispatches")).filter((job) => job.home_id === homeId);
      jobs.sort((a, b) => Date.parse(when(b)) - Date.parse(when(a)));
      replace(
        body,
        jobs.length
          ? h("ul", { class: "cards" }, jobs.map(card))
          : h("p", { class: "empty" }, t("services.none")),
      );
    } catch (error) {
      replace(body, h("p", { class: "bad" }, message(error)));
    }
  }

  function card(job) {
    return h(
      "li",
      { class: "card job", dataset: { dispatchId: job.dispatch_id, status: job.status } },
      h(
        "p",
        { class: "queue-line" },
        h("strong", {}, label("service", job.service)),
        statusBadge("dispatch_status", job.status),
      ),
      h(
        "p",
        { class: "muted" },
        t(job.scheduled_for ? "services.scheduled" : "services.requested", {
          when: dateTime(when(job)),
        }),
      ),
      job.worker_name || job.worker_id
        ? h("p", {}, t("services.worker", { worker: job.worker_name ?? job.worker_id }))
        : null,
      job.notes ? h("p", {}, t("services.notes", { notes: job.notes })) : null,
      job.status !== "completed"
        ? null
        : job.rating
          ? h(
              "p",
              { class: "stars", "aria-label": t("services.rated", { stars: job.rating }) },
              "★".repeat(job.rating) + "☆".repeat(5 - job.rating),
            )
          : rating(job),
    );
  }

  function rating(job) {
    const problem = h("p", { class: "form-error", role: "alert" });
    return h(
      "form",
      {
        class: "rating",
        onsubmit: async (event) => {
          event.preventDefault();
          const stars = Number(new FormData(event.target).get("stars"));
          if (!stars) {
            problem.textContent = t("services.choose_stars");
            return;
          }
          try {
            await api(path`/api/v1/dispatches/${job.dispatch_id}/rate`, {
              method: "POST",
              json: { stars },
            });
            notify(t("services.thanks"));
            load();
          } catch (error) {
            problem.textContent = message(error);
          }
        },
      },
      h(
        "fieldset",
        { class: "star-input" },
        h("legend", {}, t("services.rate")),
        [1, 2, 3, 4, 5].map((stars) =>
          h(
            "label",
            {},
            h("input", { type: "radio", name: "stars", value: stars }),
            h("span", { "aria-hidden": "true" }, "★"),
            h("span", { class: "visually-hidden" }, t("services.stars", { stars })),
          ),
        ),
        h("button", { type: "submit" }, t("services.send_rating")),
      ),
      problem,
    );
  }

  return { panel, load };
}

function when(job) {
  return job.scheduled_for ?? job.created_at;
}
