"""Simulated care workers: seeded, near the homes, every service covered, one code each."""

from __future__ import annotations

from datetime import date

from alerts.workers import haversine_m
from simulators.fleet import ZHONGSHAN
from simulators.staff import SKILL_SETS, build_staff, workers_for

TODAY = date(2026, 11, 24)


def test_the_same_seed_gives_the_same_staff_and_another_does_not() -> None:
    assert build_staff(7, seed=1, today=TODAY) == build_staff(7, seed=1, today=TODAY)
    assert build_staff(7, seed=1, today=TODAY) != build_staff(7, seed=2, today=TODAY)


def test_every_service_has_someone_and_every_code_is_one_persons() -> None:
    staff = build_staff(workers_for(4), seed=3, today=TODAY)
    assert len(staff) == len(SKILL_SETS)
    covered = set().union(*(worker.skills for worker in staff))
    assert covered == {"medical", "housekeeping", "meal", "wellbeing", "technical"}
    assert len({worker.credential_code for worker in staff}) == len(staff)
    assert all(worker.credential_expires > TODAY for worker in staff)


def test_workers_stay_on_the_neighbourhoods_disc() -> None:
    for worker in build_staff(200, seed=5, today=TODAY, radius_km=8.0):
        assert haversine_m(ZHONGSHAN[0], ZHONGSHAN[1], worker.lat, worker.lon) <= 8_050


def test_about_one_worker_per_two_homes() -> None:
    assert workers_for(1) == len(SKILL_SETS)
    assert workers_for(100) == 50
