// Homes and workers on a map drawn without any tile server: markers and circles over a
// plain graticule, so it works offline and sends nobody's whereabouts anywhere.

import { h } from "../dom.js";
import { label, t } from "../i18n.js";
import { severityRank } from "../severity.js";

const L = window.L;
const RADIUS_M = 3000; // CONTRACT §3: workers are matched within 3 km of the home
const STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
const SEVERITY_COLOURS = {
  critical: "#b91c1c",
  high: "#c2410c",
  medium: "#a16207",
  low: "#475569",
};

export function createMap(element) {
  const map = L.map(element, { attributionControl: false, zoomSnap: 0.5 }).setView(
    [22.54, 113.94],
    12,
  );
  L.control.scale({ imperial: false }).addTo(map);
  const grid = L.layerGroup().addTo(map);
  const radius = L.layerGroup().addTo(map);
  const homesLayer = L.layerGroup().addTo(map);
  const workersLayer = L.layerGroup().addTo(map);
  let homes = [];
  let alerts = [];
  let fitted = false;

  function drawGrid() {
    grid.clearLayers();
    const bounds = map.getBounds();
    const step = STEPS.find((s) => (bounds.getEast() - bounds.getWest()) / s <= 10) ?? 10;
    const style = { color: "#cbd5e1", weight: 1, interactive: false };
    for (
      let lon = Math.floor(bounds.getWest() / step) * step;
      lon <= bounds.getEast();
      lon += step
    ) {
      L.polyline(
        [
          [bounds.getSouth(), lon],
          [bounds.getNorth(), lon],
        ],
        style,
      ).addTo(grid);
    }
    for (
      let lat = Math.floor(bounds.getSouth() / step) * step;
      lat <= bounds.getNorth();
      lat += step
    ) {
      L.polyline(
        [
          [lat, bounds.getWest()],
          [lat, bounds.getEast()],
        ],
        style,
      ).addTo(grid);
    }
  }

  function drawHomes() {
    homesLayer.clearLayers();
    for (const home of homes) {
      const worst = alerts
        .filter((a) => a.home_id === home.home_id)
        .sort((a, b) => severityRank(a.severity) - severityRank(b.severity))[0];
      const colour = worst ? (SEVERITY_COLOURS[worst.severity] ?? "#7c3aed") : "#1d4ed8";
      L.circleMarker([home.lat, home.lon], {
        radius: worst ? 9 : 6,
        color: "#fff",
        weight: 2,
        fillColor: colour,
        fillOpacity: 0.95,
      })
        .bindTooltip(worst ? `${home.home_id} · ${label("kind", worst.kind)}` : home.home_id)
        .bindPopup(() => homeCard(home))
        .addTo(homesLayer);
    }
  }

  map.on("moveend", drawGrid);
  drawGrid();
  const resize = new ResizeObserver(() => map.invalidateSize());
  resize.observe(element);

  return {
    showHomes(next) {
      homes = next.filter((home) => Number.isFinite(home.lat) && Number.isFinite(home.lon));
      drawHomes();
      if (!fitted && homes.length) {
        fitted = true;
        map.fitBounds(L.latLngBounds(homes.map((home) => [home.lat, home.lon])).pad(0.2));
      }
    },
    showAlerts(next) {
      alerts = next;
      drawHomes();
    },
    showWorkers(workers) {
      workersLayer.clearLayers();
      for (const worker of workers) {
        if (!Number.isFinite(worker.lat) || !Number.isFinite(worker.lon)) continue;
        const icon = L.divIcon({
          className: `worker-pin ${worker.on_shift ? "on-shift" : "off-shift"}`,
          html: "<span></span>",
          iconSize: [14, 14],
        });
        const shift = worker.on_shift ? t("map.on_shift") : t("map.off_shift");
        L.marker([worker.lat, worker.lon], { icon, keyboard: false })
          .bindTooltip(`${worker.name ?? worker.worker_id} · ${shift}`)
          .addTo(workersLayer);
      }
    },
    /** Centre on a home and draw the matching radius around it. */
    focus(homeId) {
      const home = homes.find((candidate) => candidate.home_id === homeId);
      radius.clearLayers();
      if (!home) return;
      const circle = L.circle([home.lat, home.lon], {
        radius: RADIUS_M,
        color: "#1d4ed8",
        weight: 1,
        fillOpacity: 0.06,
        interactive: false,
      }).addTo(radius);
      map.fitBounds(circle.getBounds());
    },
    remove() {
      resize.disconnect();
      map.remove();
    },
  };
}

function homeCard(home) {
  return h(
    "div",
    { class: "home-card" },
    h("strong", {}, home.home_id),
    home.address ? h("p", {}, home.address) : null,
    home.resident?.name ? h("p", {}, t("map.resident", { name: home.resident.name })) : null,
    home.away ? h("p", {}, t("map.away")) : null,
  );
}
