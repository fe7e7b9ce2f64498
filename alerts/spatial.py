"""Where the workers are: a spatial index answering "who is within r metres of this home".

Choice of library (measured here on 40,000 workers over 30 x 30 km, 3 km radius):

| library | query | one worker moving | notes |
|---|---|---|---|
| `h3` (Uber's H3 grid, cells in a dict) | 0.10-0.15 ms | 2 µs | no NumPy; cells are plain ints |
| `rtree` (libspatialindex in its wheel) | 0.26-0.38 ms | 130-680 µs | delete rebalances the tree |
| `scipy.spatial.cKDTree` (unit vectors) | 0.04-0.07 ms | rebuild ~35 ms | static: moves need batching |

Workers move all day and go on and off shift, so the index must take one update at
a time cheaply: an H3 cell is a pure function of a point, so a move is "drop the id
from one dict, add it to another". `rtree` pays a tree rebalance on every delete and
a kd-tree must be rebuilt, while H3's query is already far below the 10 ms budget.
H3 also has no trouble at the antimeridian or the poles, where latitude/longitude
boxes need special cases.

How a query stays exact: the query cell's own size and spacing are measured (H3 cells
are hexagons of slowly varying size), a grid disk of `k` rings is taken that must
contain every cell with a point within the radius (with a safety margin for the
grid's distortion), cells whose nearest possible point is beyond the radius are
skipped whole, and every remaining worker is checked with the exact haversine. The
result equals a brute-force scan (see `tests/unit/test_matching_properties.py`).

The index is partitioned by service: a worker sits in the "all" partition and in one
per skill, so a medical job never looks at a cleaner.

A whole match (this query, the hard filters, the ranking) at 40,000 workers and
100,000 homes: p50 1.2-1.4 ms, p99 2.2-2.9 ms on one core (`anxin bench dispatch`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final, cast

from h3.api import basic_int as _h3  # type: ignore[import-untyped]

from alerts.workers import Worker, haversine_rad, radians_of
from processors.detection import Service

RESOLUTION: Final = 8
"""H3 resolution 8: hexagons of about 0.74 km² (edge ~0.5 km). At a 3 km radius a query
reads ~170 cells of a few workers each; coarser cells mean more exact checks per query,
finer ones more cells to visit."""

MAX_RADIUS_M: Final = 50_000.0
"""Beyond this a grid disk at resolution 8 gets large (tens of thousands of cells);
a search that wide is a dispatcher's decision, not an automatic match."""

_MARGIN: Final = 0.15
"""Slack on the measured cell size and spacing for H3's distortion across a disk
(a few percent within a city; more next to the 12 pentagons)."""

_GEOMETRY_CACHE_MAX: Final = 100_000

Point = tuple[float, float, float]
"""`radians_of(lat, lon)`: (φ, λ, cos φ)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    cell: int
    point: Point
    services: frozenset[Service]


@dataclass(frozen=True, slots=True)
class _Geometry:
    """A cell's centre, its circumradius (metres), and the least centre-to-neighbour spacing."""

    center: Point
    circumradius_m: float
    spacing_m: float


def _check_point(lat: float, lon: float) -> None:
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
        raise TypeError("lat and lon must be numbers")
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError("lat and lon must be finite")
    if not -90 <= lat <= 90:
        raise ValueError(f"lat {lat} is outside -90..90")
    if not -180 <= lon <= 180:
        raise ValueError(f"lon {lon} is outside -180..180")


def _check_query(lat: float, lon: float, radius_m: float) -> None:
    _check_point(lat, lon)
    if not (isinstance(radius_m, int | float) and 0 < radius_m <= MAX_RADIUS_M):
        raise ValueError(f"radius_m must be within (0, {MAX_RADIUS_M:g}]")


def _cell_of(lat: float, lon: float) -> int:
    return cast(int, _h3.latlng_to_cell(lat, lon, RESOLUTION))


def _disk(cell: int, k: int) -> list[int]:
    return cast(list[int], _h3.grid_disk(cell, k))


class WorkerIndex:
    """Workers by location, partitioned by skill; cheap single updates, exact radius queries.

    Not thread-safe: the shell owns one per process and updates it from one task.
    """

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        # partition (None: every worker) -> cell -> worker id -> point
        self._parts: dict[Service | None, dict[int, dict[str, Point]]] = {None: {}}
        self._geometry: dict[int, _Geometry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, worker_id: object) -> bool:
        return worker_id in self._entries

    def upsert(
        self, worker_id: str, lat: float, lon: float, services: Iterable[Service] = ()
    ) -> None:
        """Put a worker at a point (moving them if already indexed) under these skills."""
        if not isinstance(worker_id, str) or not worker_id:
            raise ValueError("worker_id must be a non-empty string")
        _check_point(lat, lon)
        skills = frozenset(services)
        point = radians_of(lat, lon)
        cell = _cell_of(lat, lon)
        old = self._entries.get(worker_id)
        if old is not None and old.cell == cell and old.services == skills:
            for part in (None, *skills):
                self._parts[part][cell][worker_id] = point
        else:
            if old is not None:
                self._drop(worker_id, old)
            for part in (None, *skills):
                self._parts.setdefault(part, {}).setdefault(cell, {})[worker_id] = point
            self._geometry_of(cell)  # measured once per cell here, not on a query's clock
        self._entries[worker_id] = _Entry(cell, point, skills)

    def upsert_worker(self, worker: Worker) -> None:
        """Index a worker at their reported location under their skills."""
        self.upsert(worker.worker_id, worker.lat, worker.lon, worker.skills)

    def remove(self, worker_id: str) -> bool:
        """Forget a worker; False if they were not indexed."""
        old = self._entries.pop(worker_id, None)
        if old is None:
            return False
        self._drop(worker_id, old)
        return True

    def _drop(self, worker_id: str, entry: _Entry) -> None:
        for part in (None, *entry.services):
            cells = self._parts[part]
            members = cells[entry.cell]
            del members[worker_id]
            if not members:
                del cells[entry.cell]

    def within(
        self, lat: float, lon: float, radius_m: float, service: Service | None = None
    ) -> dict[str, float]:
        """Indexed workers within `radius_m` of a point (with that skill, if given) -> metres.

        Exact: every distance is the haversine, and nothing within the radius is missed.
        """
        _check_query(lat, lon, radius_m)
        origin = radians_of(lat, lon)
        found: dict[str, float] = {}
        for members, _whole in self._cells_near(lat, lon, radius_m, service):
            for worker_id, point in members.items():
                metres = haversine_rad(origin, point)
                if metres <= radius_m:
                    found[worker_id] = metres
        return found

    def ids_within(
        self, lat: float, lon: float, radius_m: float, service: Service | None = None
    ) -> list[str]:
        """The same workers as `within`, without their distances, for a caller that filters.

        Cells wholly inside the radius are taken without measuring each worker: matching
        measures only the few that pass its cheaper filters.
        """
        _check_query(lat, lon, radius_m)
        origin = radians_of(lat, lon)
        found: list[str] = []
        for members, whole in self._cells_near(lat, lon, radius_m, service):
            if whole:
                found.extend(members)
            else:
                found.extend(
                    w for w, point in members.items() if haversine_rad(origin, point) <= radius_m
                )
        return found

    def _cells_near(
        self, lat: float, lon: float, radius_m: float, service: Service | None
    ) -> Iterator[tuple[dict[str, Point], bool]]:
        """The occupied cells that may hold a point within the radius, and whether wholly inside."""
        cells = self._parts.get(service)
        if not cells:
            return
        origin = radians_of(lat, lon)
        home = _cell_of(lat, lon)
        geometry = self._geometry_of(home)
        reach = geometry.circumradius_m * (1 + _MARGIN)
        ring_step = geometry.spacing_m * (math.sqrt(3) / 2) * (1 - _MARGIN)
        k = math.ceil((radius_m + 2 * reach) / ring_step)
        # Fewer occupied cells than the disk has (a small index): look at them all.
        visit = list(cells) if len(cells) < 3 * k * (k + 1) + 1 else _disk(home, k)
        for cell in visit:
            members = cells.get(cell)
            if not members:
                continue
            shape = self._geometry_of(cell)
            center_m = haversine_rad(origin, shape.center)
            # 1 m of slack either way covers rounding in the distances.
            if center_m - shape.circumradius_m - 1.0 > radius_m:
                continue  # its nearest possible point is beyond the radius
            yield members, center_m + shape.circumradius_m + 1.0 <= radius_m

    def _geometry_of(self, cell: int) -> _Geometry:
        known = self._geometry.get(cell)
        if known is not None:
            return known
        if len(self._geometry) >= _GEOMETRY_CACHE_MAX:
            self._geometry.clear()  # bounded; occupied cells come back on their next query
        known = _measure(cell)
        self._geometry[cell] = known
        return known


def _measure(cell: int) -> _Geometry:
    """A cell's centre, circumradius and least spacing to a neighbour's centre, in metres."""
    center = radians_of(*cast(tuple[float, float], _h3.cell_to_latlng(cell)))
    corners: Any = _h3.cell_to_boundary(cell)
    circumradius = max(haversine_rad(center, radians_of(lat, lon)) for lat, lon in corners)
    neighbours = cast(list[int], _h3.grid_ring(cell, 1))
    spacing = min(
        haversine_rad(center, radians_of(*cast(tuple[float, float], _h3.cell_to_latlng(n))))
        for n in neighbours
    )
    return _Geometry(center=center, circumradius_m=circumradius, spacing_m=spacing)
