// Service jobs under way: who has each, and those waiting for someone (the dispatcher
// queue), which the dispatcher can offer to a worker they choose.

import { api, list, path } from "../api.js";
import { h, replace } from "../dom.js";
import { message } from "../errors.js";
import { ago } from "../format.js";
import { label, t } from "../i18n.js";
import { notify } from "../notice.js";
import { statusBadge } from "../severity.js";
import { pickWorker } from "./worker-picker.js";

const FINAL = new Set(["completed", "cancelled"]);
const WAITING = new Set(["pending", "declined", "expired", "queued"]);

export function createJobs() {
  const body = h("div", { class: "jobs" }, h("p", { class: "muted" }, t("common.loading")));
  const panel = h(
    "section",
    { class: "panel jobs-panel", "aria-labelledby": "jobs-title" },
    h("h2", { id: "jobs-title" }, t("jobs.title")),
    body,
  );

  async function load() {
    try {
      const jobs = list(await api("/api/v1/dispatches")).filter((job) => !FINAL.has(job.status));
      jobs.sort(
        (a, b) =>
          Number(b.status === "queued") - Number(a.status === "queued") ||
          Date.parse(a.created_at) - Date.parse(b.created_at),
      );
      replace(body, jobs.length ? table(jobs) : h("p", { class: "empty" }, t("jobs.none")));
    } catch (error) {
      replace(body, h("p", { class: "bad" }, message(error)));
    }
  }

  function offer(job) {
    pickWorker({
      title: t("jobs.offer_title", { service: label("service", job.service), home: job.home_id }),
      candidates: path`/api/v1/dispatches/${job.dispatch_id}/candidates`,
      automatic: false,
      async send(workerId) {
        await api(path`/api/v1/dispatches/${job.dispatch_id}/offer`, {
          method: "POST",
          json: { worker_id: workerId },
        });
        notify(t("jobs.offered"));
        load();
      },
    });
  }

  function table(jobs) {
    const headings = ["jobs.status", "jobs.service", "jobs.home", "jobs.worker", "jobs.since"];
    return h(
      "table",
      { class: "table" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headings.map((key) => h("th", { scope: "col" }, t(key))),
        ),
      ),
      h(
        "tbody",
        {},
        jobs.map((job) =>
          h(
            "tr",
            {
              class: job.status === "queued" ? "needs-attention" : null,
              dataset: { dispatchId: job.dispatch_id },
            },
            h("td", {}, statusBadge("dispatch_status", job.status)),
            h("td", {}, label("service", job.service)),
            h("td", {}, job.home_id),
            h(
              "td",
              {},
              WAITING.has(job.status)
                ? h("button", { type: "button", onclick: () => offer(job) }, t("jobs.offer"))
                : (job.worker_id ?? "—"),
            ),
            h("td", {}, ago(job.updated_at ?? job.created_at)),
          ),
        ),
      ),
    );
  }

  return { panel, load };
}
