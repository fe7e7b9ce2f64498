// Times, durations and distances in the current language.

import { language } from "./i18n.js";

/** A date and time, or "—" when there is none. */
export function dateTime(iso) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return iso ? String(iso) : "—";
  return new Intl.DateTimeFormat(language(), { dateStyle: "short", timeStyle: "short" }).format(
    date,
  );
}

/** How long ago (or how soon), as "3 minutes ago". */
export function ago(iso, now = Date.now()) {
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return "—";
  const seconds = Math.round((then - now) / 1000);
  const format = new Intl.RelativeTimeFormat(language(), { numeric: "auto" });
  const units = [
    ["day", 86_400],
    ["hour", 3_600],
    ["minute", 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.trunc(seconds / size), unit);
  }
  return format.format(seconds, "second");
}

/** Metres as "850 m" or "1.2 km". */
export function distance(metres) {
  if (typeof metres !== "number" || Number.isNaN(metres)) return "—";
  const [value, unit] =
    metres < 1000 ? [Math.round(metres), "meter"] : [metres / 1000, "kilometer"];
  return new Intl.NumberFormat(language(), {
    style: "unit",
    unit,
    maximumFractionDigits: 1,
  }).format(value);
}

/** A plain number with at most `digits` decimals. */
export function number(value, digits = 1) {
  if (typeof value !== "number") return value === undefined || value === null ? "—" : String(value);
  return new Intl.NumberFormat(language(), { maximumFractionDigits: digits }).format(value);
}
