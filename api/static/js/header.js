// The top bar: the name, who is logged in, the language switch and logging out.

import { h, replace } from "./dom.js";
import { LANGUAGES, label, language, t } from "./i18n.js";
import { logOut } from "./session.js";

export function renderHeader(header, { session, onLanguage }) {
  const choose = h(
    "select",
    {
      id: "language",
      "aria-label": t("header.language"),
      onchange: (event) => onLanguage(event.target.value),
    },
    LANGUAGES.map(({ code, name }) =>
      h("option", { value: code, selected: code === language() }, name),
    ),
  );
  replace(
    header,
    h(
      "p",
      { class: "brand" },
      h("span", { class: "brand-mark", "aria-hidden": "true" }, "安心"),
      t("app.name"),
    ),
    session
      ? h(
          "p",
          { class: "who" },
          h("span", { class: "who-name" }, session.username),
          h("span", { class: "who-role" }, label("role", session.role)),
        )
      : null,
    h(
      "div",
      { class: "header-tools" },
      choose,
      session
        ? h("button", { type: "button", class: "quiet", onclick: logOut }, t("header.logout"))
        : null,
    ),
  );
}
