"""Matching: each hard filter, the ranking order and its ties, the index it goes through."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from alerts.matching import (
    Candidate,
    Job,
    MatchRules,
    effective_rating,
    eligible,
    match,
    rank,
)
from alerts.spatial import MAX_RADIUS_M, WorkerIndex
from alerts.workers import EARTH_RADIUS_M, Place, Worker, distance_m, haversine_m

HOME = (22.52, 113.39)
DAY = date(2026, 11, 23)


def north(metres: float, east: float = 0.0) -> tuple[float, float]:
    """A point `metres` north (and `east` metres east) of HOME."""
    lat = HOME[0] + math.degrees(metres / EARTH_RADIUS_M)
    lon = HOME[1] + math.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(HOME[0]))))
    return lat, lon


def worker(worker_id: str = "w1", metres: float = 500.0, **changes: Any) -> Worker:
    lat, lon = north(metres)
    fields: dict[str, Any] = {
        "worker_id": worker_id,
        "name": "A. Worker",
        "skills": frozenset({"medical", "wellbeing"}),
        "credential_code": f"AX-{worker_id}",
        "credential_expires": DAY + timedelta(days=100),
        "lat": lat,
        "lon": lon,
        "on_shift": True,
        "rating": 4.5,
        "rating_count": 50,
        "active_jobs": 0,
    }
    fields.update(changes)
    return Worker(**fields)


def job(**changes: Any) -> Job:
    fields: dict[str, Any] = {
        "home_id": "h1",
        "lat": HOME[0],
        "lon": HOME[1],
        "service": "medical",
        "service_date": DAY,
        "severity": "critical",
    }
    fields.update(changes)
    return Job(**fields)


class TestDistance:
    def test_a_point_1000_m_north_is_1000_m_away(self) -> None:
        lat, lon = north(1000)
        assert haversine_m(*HOME, lat, lon) == pytest.approx(1000, abs=1e-6)

    def test_distance_is_symmetric_and_zero_to_itself(self) -> None:
        a, b = Place(lat=22.5, lon=113.4), Place(lat=22.6, lon=113.3)
        assert distance_m(a, b) == pytest.approx(distance_m(b, a))
        assert distance_m(a, a) == 0

    def test_across_the_antimeridian_is_short(self) -> None:
        assert haversine_m(0, 179.999, 0, -179.999) == pytest.approx(222.4, abs=0.5)

    @pytest.mark.parametrize(
        ("lat", "lon"), [(90.1, 0), (-91, 0), (0, 180.5), (0, -181), (math.nan, 0), (0, math.inf)]
    )
    def test_a_place_off_the_globe_is_refused(self, lat: float, lon: float) -> None:
        with pytest.raises(ValidationError):
            Place(lat=lat, lon=lon)


class TestWorker:
    def test_a_rating_folds_into_the_running_mean(self) -> None:
        rated = worker(rating=4.0, rating_count=3).rated(5)
        assert rated.rating == pytest.approx(4.25)
        assert rated.rating_count == 4

    def test_the_first_rating_is_the_mean(self) -> None:
        assert worker(rating=0.0, rating_count=0).rated(3).rating == 3

    @pytest.mark.parametrize("stars", [0, 6, -1])
    def test_stars_outside_one_to_five_are_refused(self, stars: int) -> None:
        with pytest.raises(ValueError, match="1 to 5"):
            worker().rated(stars)

    def test_a_worker_needs_a_skill(self) -> None:
        with pytest.raises(ValidationError):
            worker(skills=frozenset())

    def test_an_unknown_skill_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            worker(skills=frozenset({"plumbing"}))

    @pytest.mark.parametrize("code", ["abc", "has space", "x" * 33, "代码代码"])
    def test_a_malformed_credential_code_is_refused(self, code: str) -> None:
        with pytest.raises(ValidationError):
            worker(credential_code=code)


class TestEligible:
    @pytest.mark.parametrize(
        ("changes", "reasons"),
        [
            ({}, []),
            ({"skills": frozenset({"housekeeping"})}, ["skill"]),
            ({"credential_expires": DAY - timedelta(days=1)}, ["credential_expired"]),
            ({"credential_expires": DAY}, []),  # valid through its expiry day
            ({"on_shift": False}, ["off_shift"]),
            ({"metres": 3010.0}, ["too_far"]),
            ({"metres": 2990.0}, []),
            ({"active_jobs": 3}, ["workload"]),
            ({"active_jobs": 2}, []),
            (
                {"on_shift": False, "active_jobs": 7, "skills": frozenset({"meal"})},
                ["skill", "off_shift", "workload"],
            ),
        ],
    )
    def test_each_hard_filter(self, changes: dict[str, Any], reasons: list[str]) -> None:
        assert eligible(worker(**changes), job()) == reasons

    def test_credential_is_judged_on_the_service_date_not_today(self) -> None:
        w = worker(credential_expires=DAY + timedelta(days=2))
        assert eligible(w, job(service_date=DAY + timedelta(days=2))) == []
        assert eligible(w, job(service_date=DAY + timedelta(days=3))) == ["credential_expired"]

    def test_exactly_at_the_radius_is_within(self) -> None:
        assert eligible(worker(), job(), distance_m=3000.0) == []
        assert eligible(worker(), job(), distance_m=3000.000001) == ["too_far"]

    def test_a_wider_radius_and_higher_cap_admit_more(self) -> None:
        rules = MatchRules(radius_m=5000, max_active_jobs=5)
        assert eligible(worker(metres=4000, active_jobs=4), job(), rules) == []

    def test_an_unknown_distance_is_too_far(self) -> None:
        assert eligible(worker(), job(), distance_m=math.nan) == ["too_far"]


class TestRules:
    @pytest.mark.parametrize(
        "changes",
        [
            {"radius_m": 0},
            {"radius_m": -5},
            {"radius_m": MAX_RADIUS_M + 1},
            {"max_active_jobs": 0},
            {"distance_band_m": 0},
            {"rating_band": 0},
            {"rating_prior": 6},
            {"unknown": 1},
        ],
    )
    def test_bad_rules_are_refused(self, changes: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            MatchRules(**changes)

    def test_defaults_are_the_contracts(self) -> None:
        rules = MatchRules()
        assert (rules.radius_m, rules.max_active_jobs) == (3000.0, 3)


def ids(candidates: list[Candidate]) -> list[str]:
    return [c.worker_id for c in candidates]


class TestRank:
    def test_a_nearer_band_beats_a_better_rating(self) -> None:
        near = (worker("near", rating=3.0, rating_count=100), 400.0)
        far = (worker("far", rating=5.0, rating_count=100), 900.0)
        assert ids(rank(job(), [far, near])) == ["near", "far"]

    def test_within_a_band_the_better_rated_comes_first(self) -> None:
        good = (worker("good", rating=4.9, rating_count=100), 450.0)
        fair = (worker("fair", rating=4.0, rating_count=100), 50.0)
        assert ids(rank(job(), [fair, good])) == ["good", "fair"]

    def test_then_a_worker_who_served_the_home_before(self) -> None:
        known = (worker("known"), 300.0)
        new = (worker("new"), 100.0)
        assert ids(rank(job(), [new, known], history={"known"})) == ["known", "new"]

    def test_then_the_lighter_load(self) -> None:
        busy = (worker("busy", active_jobs=2), 100.0)
        free = (worker("free", active_jobs=0), 300.0)
        assert ids(rank(job(), [busy, free])) == ["free", "busy"]

    def test_continuity_outranks_load(self) -> None:
        known = (worker("known", active_jobs=2), 100.0)
        free = (worker("free", active_jobs=0), 100.0)
        assert ids(rank(job(), [free, known], history={"known"})) == ["known", "free"]

    def test_then_the_exact_distance(self) -> None:
        a = (worker("a"), 300.0)
        b = (worker("b"), 200.0)
        assert ids(rank(job(), [a, b])) == ["b", "a"]

    def test_a_full_tie_breaks_on_worker_id(self) -> None:
        pair = [(worker("zed"), 200.0), (worker("amy"), 200.0)]
        assert ids(rank(job(), pair)) == ["amy", "zed"]
        assert ids(rank(job(), list(reversed(pair)))) == ["amy", "zed"]

    def test_one_five_star_review_does_not_beat_two_hundred_at_4_8(self) -> None:
        lucky = (worker("lucky", rating=5.0, rating_count=1), 100.0)
        steady = (worker("steady", rating=4.8, rating_count=200), 100.0)
        assert ids(rank(job(), [lucky, steady])) == ["steady", "lucky"]

    def test_an_unrated_worker_counts_at_the_prior(self) -> None:
        assert effective_rating(worker(rating=0.0, rating_count=0)) == 4.0
        rules = MatchRules(rating_prior_weight=0)
        assert effective_rating(worker(rating=0.0, rating_count=0), rules) == rules.rating_prior

    def test_the_candidate_records_continuity_and_distance(self) -> None:
        (only,) = rank(job(), [(worker("w1"), 123.0)], history={"w1"})
        assert (only.distance_m, only.served_before) == (123.0, True)


class NoScan(Mapping[str, Worker]):
    """A worker snapshot that only answers lookups: iterating it fails the test."""

    def __init__(self, workers: dict[str, Worker]) -> None:
        self._workers = workers
        self.looked_up: list[str] = []

    def __getitem__(self, key: str) -> Worker:
        self.looked_up.append(key)
        return self._workers[key]

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("match scanned every worker")

    def __len__(self) -> int:
        raise AssertionError("match scanned every worker")


def indexed(*workers: Worker) -> tuple[WorkerIndex, dict[str, Worker]]:
    index = WorkerIndex()
    for w in workers:
        index.upsert_worker(w)
    return index, {w.worker_id: w for w in workers}


class TestMatch:
    def test_returns_the_eligible_best_first(self) -> None:
        index, snapshot = indexed(
            worker("near", metres=200),
            worker("far", metres=1800),
            worker("off", metres=100, on_shift=False),
            worker("cleaner", metres=100, skills=frozenset({"housekeeping"})),
            worker("outside", metres=3500),
        )
        assert ids(match(job(), index, snapshot)) == ["near", "far"]

    def test_only_looks_up_workers_the_index_proposes(self) -> None:
        near = worker("near", metres=200)
        distant = [worker(f"d{i}", metres=20_000 + i) for i in range(50)]
        index, snapshot = indexed(near, *distant)
        workers = NoScan(snapshot)
        assert ids(match(job(), index, workers)) == ["near"]
        assert workers.looked_up == ["near"]

    def test_excluded_workers_are_left_out(self) -> None:
        index, snapshot = indexed(worker("a", metres=100), worker("b", metres=900))
        assert ids(match(job(), index, snapshot, exclude={"a"})) == ["b"]

    def test_the_snapshot_is_the_truth_when_the_index_is_stale(self) -> None:
        index, snapshot = indexed(worker("moved", metres=100))
        snapshot["moved"] = worker("moved", metres=9000)  # moved away; index not yet told
        assert match(job(), index, snapshot) == []

    def test_an_indexed_worker_missing_from_the_snapshot_is_skipped(self) -> None:
        index, _ = indexed(worker("gone", metres=100))
        assert match(job(), index, {}) == []

    def test_the_distance_is_the_snapshots(self) -> None:
        index, snapshot = indexed(worker("a", metres=1234))
        (found,) = match(job(), index, snapshot)
        assert found.distance_m == pytest.approx(1234, abs=1e-3)

    def test_limit_keeps_the_best(self) -> None:
        index, snapshot = indexed(*(worker(f"w{i}", metres=100 + 600 * i) for i in range(4)))
        assert ids(match(job(), index, snapshot, limit=2)) == ["w0", "w1"]
        with pytest.raises(ValueError, match="limit"):
            match(job(), index, snapshot, limit=0)

    def test_history_reaches_the_ranking(self) -> None:
        index, snapshot = indexed(worker("a", metres=100), worker("b", metres=200))
        assert ids(match(job(), index, snapshot, history={"b"})) == ["b", "a"]

    def test_the_radius_comes_from_the_rules(self) -> None:
        index, snapshot = indexed(worker("a", metres=4000))
        assert match(job(), index, snapshot) == []
        assert ids(match(job(), index, snapshot, MatchRules(radius_m=5000))) == ["a"]


class TestWorkerIndex:
    def test_a_move_is_seen_by_the_next_query(self) -> None:
        index = WorkerIndex()
        index.upsert("w1", *north(100), ["medical"])
        index.upsert("w1", *north(5000), ["medical"])
        assert index.within(*HOME, 3000) == {}
        assert set(index.within(*HOME, 6000)) == {"w1"}
        assert len(index) == 1

    def test_a_small_move_within_the_cell_updates_the_distance(self) -> None:
        index = WorkerIndex()
        index.upsert("w1", *north(100), ["medical"])
        index.upsert("w1", *north(110), ["medical"])
        assert index.within(*HOME, 3000)["w1"] == pytest.approx(110, abs=1e-6)

    def test_skills_partition_the_index(self) -> None:
        index = WorkerIndex()
        index.upsert("nurse", *north(100), ["medical"])
        index.upsert("cook", *north(100), ["meal"])
        assert set(index.within(*HOME, 1000, service="medical")) == {"nurse"}
        assert set(index.within(*HOME, 1000)) == {"nurse", "cook"}
        index.upsert("cook", *north(100), ["meal", "medical"])
        assert set(index.within(*HOME, 1000, service="medical")) == {"nurse", "cook"}
        index.upsert("cook", *north(100), ["meal"])
        assert set(index.within(*HOME, 1000, service="medical")) == {"nurse"}

    def test_remove_forgets_a_worker(self) -> None:
        index = WorkerIndex()
        index.upsert("w1", *north(100), ["medical"])
        assert index.remove("w1") is True
        assert index.remove("w1") is False
        assert "w1" not in index
        assert index.within(*HOME, 3000, service="medical") == {}

    def test_ids_within_agrees_with_within(self) -> None:
        index = WorkerIndex()
        for i in range(200):
            index.upsert(f"w{i}", *north(37.0 * i, east=(i % 7) * 300.0), ["meal"])
        assert set(index.ids_within(*HOME, 3000, "meal")) == set(index.within(*HOME, 3000, "meal"))

    @pytest.mark.parametrize(
        ("lat", "lon", "radius"),
        [(91, 0, 100), (0, 181, 100), (math.nan, 0, 100), (0, 0, 0), (0, 0, MAX_RADIUS_M + 1)],
    )
    def test_a_bad_query_is_refused(self, lat: float, lon: float, radius: float) -> None:
        with pytest.raises(ValueError, match=r"lat|lon|radius"):
            WorkerIndex().within(lat, lon, radius)

    @pytest.mark.parametrize(
        ("worker_id", "lat", "lon"), [("", 0, 0), ("w", 95, 0), ("w", 0, -200)]
    )
    def test_a_bad_upsert_is_refused(self, worker_id: str, lat: float, lon: float) -> None:
        with pytest.raises(ValueError, match=r"worker_id|lat|lon"):
            WorkerIndex().upsert(worker_id, lat, lon)
