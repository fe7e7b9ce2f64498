// Booking a service for the home: once, daily, on chosen weekdays, or every N days.

import { api, path } from "../api.js";
import { field, h, replace } from "../dom.js";
import { message } from "../errors.js";
import { label, t } from "../i18n.js";
import { notify } from "../notice.js";

const SERVICES = ["housekeeping", "meal", "wellbeing", "technical"];
const KINDS = ["once", "daily", "weekly", "every_n_days"];
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** The booking form; `onBooked()` after a booking is made. */
export function createBooking(homeId, { onBooked }) {
  const today = new Date().toISOString().slice(0, 10);
  const service = h(
    "select",
    { name: "service" },
    SERVICES.map((s) => h("option", { value: s }, label("service", s))),
  );
  const kind = h(
    "select",
    { name: "kind", onchange: () => showFields() },
    KINDS.map((k) => h("option", { value: k }, label("schedule", k))),
  );
  const inputs = {
    on: h("input", { type: "date", name: "on", value: today, min: today, required: true }),
    at: h("input", { type: "time", name: "at", value: "10:00", required: true }),
    starts_on: h("input", { type: "date", name: "starts_on", value: today, required: true }),
    ends_on: h("input", { type: "date", name: "ends_on" }),
    every_days: h("input", {
      type: "number",
      name: "every_days",
      value: 3,
      min: 1,
      max: 366,
      required: true,
    }),
  };
  const weekdays = h(
    "fieldset",
    { class: "weekdays" },
    h("legend", {}, t("booking.weekdays")),
    WEEKDAYS.map((day) =>
      h(
        "label",
        {},
        h("input", { type: "checkbox", name: "weekdays", value: day }),
        label("weekday", day),
      ),
    ),
  );
  const fields = h("div", { class: "booking-fields" });
  const problem = h("p", { class: "form-error", role: "alert" });
  const form = h(
    "form",
    { class: "booking", onsubmit: submit },
    field(t("booking.service"), service),
    field(t("booking.kind"), kind),
    fields,
    problem,
    h("button", { type: "submit", class: "primary" }, t("booking.submit")),
  );
  showFields();

  function showFields() {
    const when =
      kind.value === "once"
        ? [field(t("booking.on"), inputs.on), field(t("booking.at"), inputs.at)]
        : [
            kind.value === "weekly" ? weekdays : null,
            kind.value === "every_n_days"
              ? field(t("booking.every_days"), inputs.every_days)
              : null,
            field(t("booking.at"), inputs.at),
            field(t("booking.starts_on"), inputs.starts_on),
            field(t("booking.ends_on"), inputs.ends_on, t("booking.ends_on_hint")),
          ];
    replace(fields, when);
  }

  function schedule() {
    if (kind.value === "once") return { kind: "once", on: inputs.on.value, at: inputs.at.value };
    const repeating = { kind: kind.value, at: inputs.at.value, starts_on: inputs.starts_on.value };
    if (inputs.ends_on.value) repeating.ends_on = inputs.ends_on.value;
    if (kind.value === "weekly")
      repeating.weekdays = [...weekdays.querySelectorAll("input:checked")].map((box) => box.value);
    if (kind.value === "every_n_days") repeating.every_days = Number(inputs.every_days.value);
    return repeating;
  }

  async function submit(event) {
    event.preventDefault();
    problem.textContent = "";
    const body = { service: service.value, schedule: schedule() };
    if (body.schedule.weekdays?.length === 0) {
      problem.textContent = t("booking.pick_weekday");
      return;
    }
    try {
      await api(path`/api/v1/homes/${homeId}/bookings`, { method: "POST", json: body });
      notify(t("booking.done"));
      onBooked();
    } catch (error) {
      problem.textContent = message(error);
    }
  }

  return h(
    "section",
    { class: "panel booking-panel", "aria-labelledby": "booking-title" },
    h("h2", { id: "booking-title" }, t("booking.title")),
    form,
  );
}
