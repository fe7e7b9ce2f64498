// "Is this really a certified care worker?": the worker behind a credential code.

import { api, path } from "./api.js";
import { field, h, replace } from "./dom.js";
import { message } from "./errors.js";
import { label, t } from "./i18n.js";
import { number } from "./format.js";

export function verifyPanel() {
  const code = h("input", {
    name: "code",
    required: true,
    pattern: "[A-Za-z0-9\\-]{4,32}",
    autocomplete: "off",
  });
  const answer = h("div", { class: "verify-answer", "aria-live": "polite" });
  return h(
    "section",
    { class: "card verify", "aria-labelledby": "verify-title" },
    h("h2", { id: "verify-title" }, t("verify.title")),
    h("p", { class: "hint" }, t("verify.hint")),
    h(
      "form",
      {
        class: "inline-form",
        onsubmit: async (event) => {
          event.preventDefault();
          replace(answer, t("common.loading"));
          try {
            const worker = await api(path`/api/v1/workers/verify/${code.value.trim()}`);
            replace(answer, describe(worker));
          } catch (error) {
            replace(
              answer,
              h("p", { class: "bad" }, error.status === 404 ? t("verify.unknown") : message(error)),
            );
          }
        },
      },
      field(t("verify.code"), code),
      h("button", { type: "submit" }, t("verify.submit")),
    ),
    answer,
  );
}

function describe(worker) {
  const valid = worker.credential_valid !== false;
  return h(
    "dl",
    { class: valid ? "facts good" : "facts bad" },
    h("dt", {}, t("verify.name")),
    h("dd", {}, worker.name ?? "—"),
    h("dt", {}, t("verify.credential")),
    h("dd", {}, valid ? t("verify.valid") : t("verify.expired")),
    h("dt", {}, t("verify.skills")),
    h("dd", {}, (worker.skills ?? []).map((s) => label("service", s)).join(", ")),
    h("dt", {}, t("verify.rating")),
    h(
      "dd",
      {},
      worker.rating_count
        ? t("verify.stars", { stars: number(worker.rating), count: worker.rating_count })
        : t("verify.unrated"),
    ),
  );
}
