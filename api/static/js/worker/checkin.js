// Checking in on arrival: where the worker is (from the browser if allowed, else typed) and
// their credential code, which the platform checks against the home.

import { field, h } from "../dom.js";
import { t } from "../i18n.js";

/** The check-in fields; `read()` gives `{lat, lon, code}` or null when incomplete. */
export function checkInFields() {
  const lat = h("input", {
    type: "number",
    name: "lat",
    step: "any",
    min: -90,
    max: 90,
    required: true,
    inputmode: "decimal",
  });
  const lon = h("input", {
    type: "number",
    name: "lon",
    step: "any",
    min: -180,
    max: 180,
    required: true,
    inputmode: "decimal",
  });
  const code = h("input", {
    name: "code",
    required: true,
    autocomplete: "off",
    pattern: "[A-Za-z0-9\\-]{4,32}",
  });
  const where = h("p", { class: "muted", "aria-live": "polite" });

  function locate() {
    if (!navigator.geolocation) {
      where.textContent = t("checkin.no_location");
      return;
    }
    where.textContent = t("checkin.locating");
    navigator.geolocation.getCurrentPosition(
      (position) => {
        lat.value = position.coords.latitude.toFixed(6);
        lon.value = position.coords.longitude.toFixed(6);
        where.textContent = t("checkin.located", {
          accuracy: Math.round(position.coords.accuracy),
        });
      },
      () => {
        where.textContent = t("checkin.type_location");
      },
      { enableHighAccuracy: true, timeout: 10_000, maximumAge: 60_000 },
    );
  }

  // Ask at once only if already allowed; otherwise wait for the button (no surprise prompt).
  navigator.permissions?.query({ name: "geolocation" }).then(
    (state) => state.state === "granted" && locate(),
    () => {},
  );

  return {
    element: h(
      "div",
      { class: "checkin" },
      h("div", { class: "two" }, field(t("checkin.lat"), lat), field(t("checkin.lon"), lon)),
      h("button", { type: "button", onclick: locate }, t("checkin.use_location")),
      where,
      field(t("checkin.code"), code, t("checkin.code_hint")),
    ),
    read() {
      if (!lat.value || !lon.value || !code.value.trim()) return null;
      return { lat: Number(lat.value), lon: Number(lon.value), code: code.value.trim() };
    },
  };
}
