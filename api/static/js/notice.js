// One polite live region for short messages: what just worked, or why it did not.

import { h } from "./dom.js";

const SHOWN_MS = 6000;

/** Show `text` for a few seconds; `kind` is "ok" or "error". */
export function notify(text, kind = "ok") {
  const region = document.getElementById("notices");
  const item = h(
    "p",
    { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : null },
    text,
  );
  region.append(item);
  setTimeout(() => item.remove(), SHOWN_MS);
}
