// Logging in (OAuth2 password form), and checking a care worker's code without an account.

import { h, field } from "./dom.js";
import { message } from "./errors.js";
import { t } from "./i18n.js";
import { logIn } from "./session.js";
import { verifyPanel } from "./verify.js";

export function loginView(main) {
  const username = h("input", {
    name: "username",
    autocomplete: "username",
    required: true,
    maxlength: 64,
  });
  const password = h("input", {
    name: "password",
    type: "password",
    autocomplete: "current-password",
    required: true,
    maxlength: 256,
  });
  const problem = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, t("login.submit"));
  const form = h(
    "form",
    {
      class: "card login",
      "aria-labelledby": "login-title",
      onsubmit: async (event) => {
        event.preventDefault();
        problem.textContent = "";
        submit.disabled = true;
        try {
          await logIn(username.value.trim(), password.value);
        } catch (error) {
          problem.textContent = error.status === 401 ? t("login.wrong") : message(error);
          submit.disabled = false;
        }
      },
    },
    h("h1", { id: "login-title" }, t("login.title")),
    field(t("login.username"), username),
    field(t("login.password"), password),
    problem,
    submit,
  );
  main.append(h("div", { class: "login-page" }, form, verifyPanel()));
  username.focus();
}
