"""Properties: matching never proposes or offers an ineligible worker; the index is exact."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from h3.api import basic_int as h3  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts import spatial
from alerts.dispatches import Dispatch, accept, decline, new_dispatch
from alerts.matching import Job, MatchRules, eligible, match
from alerts.offers import OfferTo, Queued, advance
from alerts.spatial import RESOLUTION, WorkerIndex
from alerts.workers import EARTH_RADIUS_M, Worker, haversine_m
from processors.detection import Service

SERVICES: tuple[Service, ...] = ("medical", "housekeeping", "meal", "wellbeing", "technical")
DAY = date(2026, 11, 23)
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CENTRE = (22.52, 113.39)

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point the given metres north and east of (lat, lon), kept on the globe."""
    new_lat = max(-90.0, min(90.0, lat + math.degrees(north_m / EARTH_RADIUS_M)))
    scale = max(math.cos(math.radians(new_lat)), 1e-6)
    new_lon = lon + math.degrees(east_m / (EARTH_RADIUS_M * scale))
    return new_lat, (new_lon + 180.0) % 360.0 - 180.0


metres = st.floats(min_value=-6000, max_value=6000, allow_nan=False)


@st.composite
def workers(draw: st.DrawFn, count: int = 40) -> list[Worker]:
    n = draw(st.integers(min_value=0, max_value=count))
    out = []
    for i in range(n):
        lat, lon = offset(*CENTRE, draw(metres), draw(metres))
        out.append(
            Worker(
                worker_id=f"w{i}",
                name="W",
                skills=frozenset(draw(st.sets(st.sampled_from(SERVICES), min_size=1))),
                credential_code=f"AX-{i:04d}",
                credential_expires=DAY + timedelta(days=draw(st.integers(-3, 3))),
                lat=lat,
                lon=lon,
                on_shift=draw(st.booleans()),
                rating=draw(st.floats(min_value=0, max_value=5)),
                rating_count=draw(st.integers(0, 300)),
                active_jobs=draw(st.integers(0, 5)),
            )
        )
    return out


@st.composite
def jobs(draw: st.DrawFn) -> Job:
    lat, lon = offset(*CENTRE, draw(metres), draw(metres))
    return Job(
        home_id="h1",
        lat=lat,
        lon=lon,
        service=draw(st.sampled_from(SERVICES)),
        service_date=DAY + timedelta(days=draw(st.integers(-1, 2))),
        severity=draw(st.sampled_from(["critical", "high", "medium", "low"])),
    )


rules_strategy = st.builds(
    MatchRules,
    radius_m=st.floats(min_value=100, max_value=8000),
    max_active_jobs=st.integers(1, 5),
)


def index_of(staff: list[Worker]) -> WorkerIndex:
    index = WorkerIndex()
    for w in staff:
        index.upsert_worker(w)
    return index


class TestMatchIsSoundAndComplete:
    @PROPERTY
    @given(staff=workers(), job=jobs(), rules=rules_strategy)
    def test_match_returns_exactly_the_eligible_workers(
        self, staff: list[Worker], job: Job, rules: MatchRules
    ) -> None:
        found = match(job, index_of(staff), {w.worker_id: w for w in staff}, rules)
        assert all(eligible(c.worker, job, rules) == [] for c in found)
        expected = {w.worker_id for w in staff if not eligible(w, job, rules)}
        assert {c.worker_id for c in found} == expected
        assert len(found) == len(expected)  # nobody twice


class TestOfferRound:
    @PROPERTY
    @given(
        staff=workers(),
        job=jobs(),
        rules=rules_strategy,
        answers=st.lists(st.sampled_from(["decline", "expire", "accept"]), max_size=60),
    )
    def test_no_offer_ever_goes_to_an_ineligible_worker_or_twice(
        self, staff: list[Worker], job: Job, rules: MatchRules, answers: list[str]
    ) -> None:
        index = index_of(staff)
        snapshot = {w.worker_id: w for w in staff}
        dispatch: Dispatch = new_dispatch(
            dispatch_id="d1",
            home_id=job.home_id,
            lat=job.lat,
            lon=job.lon,
            service=job.service,
            severity=job.severity,
            origin="automatic",
            now=T0,
        )
        now = T0
        offered: list[str] = []
        for answer in [*answers, *["decline"] * (len(staff) + 1)]:
            ranked = [
                c.worker_id for c in match(job, index, snapshot, rules, exclude=dispatch.tried)
            ]
            dispatch, decision = advance(dispatch, ranked, now=now)
            if isinstance(decision, Queued):
                break
            assert isinstance(decision, OfferTo)
            assert eligible(snapshot[decision.worker_id], job, rules) == []
            assert decision.worker_id not in offered
            offered.append(decision.worker_id)
            if answer == "accept":
                dispatch = accept(dispatch, decision.worker_id, now=now)
                break
            if answer == "decline":
                dispatch = decline(dispatch, decision.worker_id, "busy", now=now)
            else:
                now = decision.deadline  # no answer: the timer fires
        if dispatch.status == "queued":
            eligible_ids = {w.worker_id for w in staff if not eligible(w, job, rules)}
            assert set(offered) == eligible_ids  # queued only once everyone was asked


def brute_force(
    points: dict[str, tuple[float, float]], lat: float, lon: float, r: float
) -> set[str]:
    return {k for k, (a, b) in points.items() if haversine_m(lat, lon, a, b) <= r}


latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)
PENTAGONS = [h3.cell_to_latlng(cell) for cell in h3.get_pentagons(RESOLUTION)]


@st.composite
def clusters(draw: st.DrawFn) -> tuple[float, float]:
    """A centre anywhere: random, at the poles or the antimeridian, or on an H3 pentagon."""
    return draw(
        st.one_of(
            st.tuples(latitudes, longitudes),
            st.sampled_from([(89.99, 0.0), (-89.99, 45.0), (0.0, 179.999), (-33.0, -179.999)]),
            st.sampled_from(PENTAGONS),
        )
    )


@st.composite
def scattered(draw: st.DrawFn) -> tuple[tuple[float, float], dict[str, tuple[float, float]]]:
    centre = draw(clusters())
    spread = st.floats(min_value=-15_000, max_value=15_000)
    n = draw(st.integers(0, 120))
    points = {f"w{i}": offset(*centre, draw(spread), draw(spread)) for i in range(n)}
    return centre, points


FILLER = {f"far{i}": (-60 + (i % 100) * 1.2, -170 + (i // 100) * 17.0) for i in range(2000)}
"""Workers in 2,000 cells around the globe: with them, a query walks the grid disk
around its point instead of every occupied cell (see `test_filler_makes_the_index_walk_the_disk`)."""


def test_filler_makes_the_index_walk_the_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    walked: list[int] = []
    real = spatial._disk

    def disk(cell: int, k: int) -> list[int]:
        walked.append(k)
        return real(cell, k)

    monkeypatch.setattr(spatial, "_disk", disk)
    small = WorkerIndex()
    small.upsert("w1", *CENTRE, ["medical"])
    small.within(*CENTRE, 12_000, service="medical")
    assert walked == []
    big = WorkerIndex()
    for worker_id, (lat, lon) in FILLER.items():
        big.upsert(worker_id, lat, lon, ["medical"])
    big.within(*CENTRE, 12_000, service="medical")
    assert len(walked) == 1
    assert walked[0] > 1


class TestIndexEqualsABruteForceScan:
    @PROPERTY
    @given(
        data=scattered(),
        query=st.tuples(
            st.floats(min_value=-8000, max_value=8000), st.floats(min_value=-8000, max_value=8000)
        ),
        radius=st.floats(min_value=1, max_value=12_000),
        filler=st.booleans(),
    )
    def test_within_is_a_scan_of_the_radius(
        self,
        data: tuple[tuple[float, float], dict[str, tuple[float, float]]],
        query: tuple[float, float],
        radius: float,
        filler: bool,
    ) -> None:
        centre, points = data
        index = WorkerIndex()
        if filler:
            points = {**FILLER, **points}
        for worker_id, (lat, lon) in points.items():
            index.upsert(worker_id, lat, lon, ["medical"])
        lat, lon = offset(*centre, *query)
        found = index.within(lat, lon, radius, service="medical")
        assert set(found) == brute_force(points, lat, lon, radius)
        for worker_id, metres in found.items():
            assert metres == haversine_m(lat, lon, *points[worker_id])
        assert set(index.ids_within(lat, lon, radius, service="medical")) == set(found)

    @PROPERTY
    @given(
        data=scattered(),
        moves=st.lists(
            st.tuples(
                st.integers(0, 150), st.floats(-3000, 3000), st.floats(-3000, 3000), st.booleans()
            ),
            max_size=80,
        ),
        radius=st.floats(min_value=50, max_value=6000),
    )
    def test_after_moves_and_removals_it_still_equals_the_scan(
        self,
        data: tuple[tuple[float, float], dict[str, tuple[float, float]]],
        moves: list[tuple[int, float, float, bool]],
        radius: float,
    ) -> None:
        centre, points = data
        index = WorkerIndex()
        for worker_id, (lat, lon) in points.items():
            index.upsert(worker_id, lat, lon)
        for number, north_m, east_m, gone in moves:
            worker_id = f"w{number}"
            if gone:
                assert index.remove(worker_id) == (worker_id in points)
                points.pop(worker_id, None)
            else:
                points[worker_id] = offset(*points.get(worker_id, centre), north_m, east_m)
                index.upsert(worker_id, *points[worker_id])
        assert len(index) == len(points)
        assert set(index.within(*centre, radius)) == brute_force(points, *centre, radius)
