// One offer or job, with the step the worker can take next (CONTRACT §3 lifecycle).

import { api, path } from "../api.js";
import { field, h } from "../dom.js";
import { message } from "../errors.js";
import { dateTime } from "../format.js";
import { label, t } from "../i18n.js";
import { notify } from "../notice.js";
import { severityBadge, statusBadge } from "../severity.js";
import { checkInFields } from "./checkin.js";

const DECLINE_REASONS = [
  "busy",
  "too_far",
  "off_shift",
  "not_qualified",
  "unsafe",
  "personal",
  "other",
];

/** A card for `job`; `onDone()` after the worker acted. */
export function jobCard(job, { onDone }) {
  const problem = h("p", { class: "form-error", role: "alert" });

  async function act(action, body, button) {
    problem.textContent = "";
    if (button) button.disabled = true;
    try {
      await api(path`/api/v1/dispatches/${job.dispatch_id}/${action}`, {
        method: "POST",
        json: body,
      });
      notify(t("job.done", { action: label("job_action", action) }));
      onDone();
    } catch (error) {
      problem.textContent = message(error);
      if (button) button.disabled = false;
    }
  }

  return h(
    "li",
    { class: "card job", dataset: { dispatchId: job.dispatch_id, status: job.status } },
    h(
      "p",
      { class: "queue-line" },
      job.severity ? severityBadge(job.severity) : null,
      h("strong", {}, label("service", job.service)),
      statusBadge("dispatch_status", job.status),
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, t("job.home")),
      h("dd", {}, job.address ? `${job.home_id} · ${job.address}` : job.home_id),
      Number.isFinite(job.lat)
        ? [
            h("dt", {}, t("job.location")),
            h("dd", {}, `${job.lat.toFixed(5)}, ${job.lon.toFixed(5)}`),
          ]
        : null,
      job.scheduled_for
        ? [h("dt", {}, t("job.scheduled")), h("dd", {}, dateTime(job.scheduled_for))]
        : null,
      offerDeadline(job)
        ? [h("dt", {}, t("job.answer_by")), h("dd", {}, dateTime(offerDeadline(job)))]
        : null,
    ),
    next(job, act),
    problem,
  );
}

function offerDeadline(job) {
  return job.status === "offered" ? (job.offer_deadline ?? null) : null;
}

function next(job, act) {
  const post = (action, read) => (event) => {
    event.preventDefault();
    const body = read();
    if (body) act(action, body, event.submitter ?? null);
  };
  switch (job.status) {
    case "offered": {
      const reason = h(
        "select",
        { name: "reason" },
        DECLINE_REASONS.map((r) => h("option", { value: r }, label("decline", r))),
      );
      const note = h("input", { name: "note", maxlength: 2000 });
      return h(
        "div",
        { class: "job-actions" },
        h(
          "button",
          {
            type: "button",
            class: "primary",
            dataset: { action: "accept" },
            onclick: (event) => act("accept", {}, event.currentTarget),
          },
          t("job.accept"),
        ),
        h(
          "details",
          {},
          h("summary", {}, t("job.decline")),
          h(
            "form",
            {
              onsubmit: post("decline", () => ({ reason: reason.value, note: note.value.trim() })),
            },
            field(t("job.decline_reason"), reason),
            field(t("job.note"), note),
            h("button", { type: "submit", class: "danger" }, t("job.decline_confirm")),
          ),
        ),
      );
    }
    case "accepted":
      return h(
        "button",
        {
          type: "button",
          class: "primary",
          dataset: { action: "start" },
          onclick: (event) => act("start", {}, event.currentTarget),
        },
        t("job.start"),
      );
    case "en_route": {
      const checkIn = checkInFields();
      return h(
        "form",
        { class: "job-actions", onsubmit: post("arrive", checkIn.read) },
        h("h3", {}, t("job.check_in")),
        checkIn.element,
        h(
          "button",
          { type: "submit", class: "primary", dataset: { action: "arrive" } },
          t("job.arrive"),
        ),
      );
    }
    case "on_site": {
      const notes = h("textarea", { name: "notes", rows: 3, maxlength: 2000 });
      return h(
        "form",
        { class: "job-actions", onsubmit: post("complete", () => ({ notes: notes.value.trim() })) },
        field(t("job.notes"), notes),
        h(
          "button",
          { type: "submit", class: "primary", dataset: { action: "complete" } },
          t("job.complete"),
        ),
      );
    }
    default:
      return null;
  }
}
