// Start-up: pick the language, then show the login or the view of the account's role.

import { api } from "./api.js";
import { dispatcherView } from "./dispatcher/view.js";
import { h, replace } from "./dom.js";
import { familyView } from "./family/view.js";
import { renderHeader } from "./header.js";
import { preferredLanguage, t, useLanguage } from "./i18n.js";
import { loginView } from "./login.js";
import { current, onChange } from "./session.js";
import { workerView } from "./worker/view.js";

const VIEWS = {
  admin: dispatcherView,
  dispatcher: dispatcherView,
  family: familyView,
  worker: workerView,
};

let unmount = () => {};
let shown = null;

/** The account behind the session: `/me`, or what the token answer said if that fails. */
async function whoAmI(session) {
  const fallback = {
    username: session.username,
    role: session.role,
    home_ids: [],
    worker_id: null,
  };
  try {
    return { ...fallback, ...(await api("/api/v1/me")) };
  } catch {
    return fallback;
  }
}

async function render() {
  unmount();
  unmount = () => {};
  const session = current();
  shown = session ? `${session.username}/${session.role}` : null;
  document.title = t("app.title");
  renderHeader(document.getElementById("header"), { session, onLanguage: switchLanguage });
  const main = document.getElementById("main");
  replace(main);
  if (!session) {
    loginView(main);
    return;
  }
  const view = VIEWS[session.role];
  if (!view) {
    replace(main, h("p", { class: "empty" }, t("app.unknown_role", { role: session.role })));
    return;
  }
  const me = await whoAmI(session);
  if (current() === session) unmount = view(main, me) ?? unmount;
}

async function switchLanguage(code) {
  await useLanguage(code, { remember: true });
  await render();
}

// A refreshed token changes the session but not who is logged in: no new render for that.
onChange((session) => {
  const who = session ? `${session.username}/${session.role}` : null;
  if (who !== shown) render();
});

await useLanguage(preferredLanguage());
await render();
