// The family's console: their home's status, vitals, services, bookings and worker check.

import { api, list } from "../api.js";
import { field, h, replace } from "../dom.js";
import { message } from "../errors.js";
import { t } from "../i18n.js";
import { followAlerts } from "../stream.js";
import { verifyPanel } from "../verify.js";
import { createBooking } from "./booking.js";
import { createServices } from "./services.js";
import { createStatus } from "./status.js";
import { createVitals } from "./vitals.js";

const REFRESH_MS = 30_000;

export function familyView(main, me) {
  const content = h("div", { class: "family" });
  main.append(content);
  let close = () => {};
  let stopped = false;

  async function homeIds() {
    if (me.home_ids?.length) return me.home_ids;
    return list(await api("/api/v1/homes")).map((home) => home.home_id);
  }

  function show(homeId, all) {
    close();
    const status = createStatus(homeId);
    const vitals = createVitals(homeId);
    const services = createServices(homeId);
    const picker =
      all.length > 1
        ? field(
            t("family.home"),
            h(
              "select",
              { onchange: (event) => show(event.target.value, all) },
              all.map((id) => h("option", { value: id, selected: id === homeId }, id)),
            ),
          )
        : null;
    replace(
      content,
      picker,
      status.panel,
      services.panel,
      vitals.panel,
      createBooking(homeId, { onBooked: services.load }),
      verifyPanel(),
    );
    status.load();
    vitals.load();
    services.load();
    const stopStream = followAlerts({
      onAlert: (change) => change.home_id === homeId && status.load(),
      onOpen: () => {},
      onState: () => {},
    });
    const timer = setInterval(() => {
      status.load();
      services.load();
    }, REFRESH_MS);
    close = () => {
      stopStream();
      clearInterval(timer);
      vitals.remove();
    };
  }

  homeIds().then(
    (ids) => {
      if (stopped) return;
      if (ids.length) show(ids[0], ids);
      else replace(content, h("p", { class: "empty" }, t("family.no_home")));
    },
    (error) => replace(content, h("p", { class: "bad" }, message(error))),
  );
  return () => {
    stopped = true;
    close();
  };
}
