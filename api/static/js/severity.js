// Severity: its order (CONTRACT §2: critical > high > medium > low) and its badge.

import { h } from "./dom.js";
import { label } from "./i18n.js";

const RANK = { critical: 0, high: 1, medium: 2, low: 3 };

/** Sort key: the most severe first; a severity the console does not know yet goes last. */
export function severityRank(severity) {
  return RANK[severity] ?? Object.keys(RANK).length;
}

/** A coloured badge that also says the severity in words (colour is never the only cue). */
export function severityBadge(severity) {
  const known = severity in RANK ? severity : "unknown";
  return h("span", { class: `badge sev-${known}` }, label("severity", severity));
}

/** A neutral badge for a status. */
export function statusBadge(group, status) {
  return h(
    "span",
    { class: `badge status status-${String(status).replace(/[^a-z_]/g, "")}` },
    label(group, status),
  );
}
