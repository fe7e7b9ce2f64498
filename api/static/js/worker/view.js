// The care worker's console: offers to answer, jobs under way, work done.

import { api, list } from "../api.js";
import { h, replace } from "../dom.js";
import { message } from "../errors.js";
import { t } from "../i18n.js";
import { jobCard } from "./job-card.js";

const POLL_MS = 10_000;
const DONE_SHOWN = 20;
const UNDER_WAY = new Set(["accepted", "en_route", "on_site"]);

export function workerView(main) {
  const offers = h("ul", { class: "cards" });
  const jobs = h("ul", { class: "cards" });
  const done = h("ul", { class: "cards" });
  const problem = h("p", { class: "bad", role: "alert" });
  main.append(
    h(
      "div",
      { class: "worker" },
      problem,
      section("offers", t("worker.offers"), offers),
      section("jobs", t("worker.jobs"), jobs),
      section("done", t("worker.done"), done),
    ),
  );

  const cards = new Map();

  async function load() {
    try {
      const all = list(await api("/api/v1/dispatches"));
      problem.textContent = "";
      fill(
        offers,
        all.filter((job) => job.status === "offered"),
        "worker.no_offers",
      );
      fill(
        jobs,
        all.filter((job) => UNDER_WAY.has(job.status)),
        "worker.no_jobs",
      );
      const completed = all.filter((job) => job.status === "completed");
      completed.sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at));
      fill(done, completed.slice(0, DONE_SHOWN), "worker.no_done");
      const listed = new Set(all.map((job) => job.dispatch_id));
      for (const id of cards.keys()) if (!listed.has(id)) cards.delete(id);
    } catch (error) {
      problem.textContent = message(error);
    }
  }

  // A card is rebuilt only when its job changed, so a form being filled in survives a poll.
  function card(job) {
    const version = `${job.status}|${job.updated_at}`;
    const known = cards.get(job.dispatch_id);
    if (known?.version === version) return known.element;
    const element = jobCard(job, { onDone: load });
    cards.set(job.dispatch_id, { version, element });
    return element;
  }

  function fill(target, items, emptyKey) {
    if (!items.length) {
      replace(target, h("li", { class: "empty" }, t(emptyKey)));
      return;
    }
    const elements = items.map(card);
    const same =
      elements.length === target.children.length &&
      elements.every((element, i) => target.children[i] === element);
    if (!same) replace(target, elements);
  }

  load();
  const timer = setInterval(load, POLL_MS);
  return () => clearInterval(timer);
}

function section(name, title, body) {
  return h(
    "section",
    { class: `panel ${name}-panel`, "aria-labelledby": `${name}-title` },
    h("h2", { id: `${name}-title` }, title),
    body,
  );
}
