"""Which worker a job goes to: hard filters first, then an explicit ranking.

Pure: the workers, the index and the home's history are passed in; nothing here reads
the clock or a database.

Hard filters (`eligible`; a worker failing any is never offered the job):

- `skill`: the worker delivers the job's service;
- `credential_expired`: the credential is valid on the service date (inclusive);
- `off_shift`: the worker is on shift;
- `too_far`: within `radius_m` of the home (3 km by default, CONTRACT §3);
- `workload`: fewer than `max_active_jobs` dispatches in hand.

Ranking (`rank`), lexicographic, best first:

1. distance, in bands of `distance_band_m` (500 m): nearer band first;
2. rating, in bands of `rating_band` stars (0.5): higher first. The rating is the
   mean shrunk towards `rating_prior` by `rating_prior_weight` pseudo-ratings, so
   one five-star review does not outrank two hundred at 4.8;
3. continuity: a worker who served this home before first (elders do better with
   a familiar face);
4. current load: fewer active jobs first;
5. exact distance, then worker id, so ties always break the same way.

CONTRACT §3 says "ranked by distance, then rating, then current load". Compared raw,
distances never tie and the later keys would never count; bands make "about as near"
a tie that rating, continuity and load then decide. Continuity sits between rating
and load as the issue asks.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from alerts.spatial import MAX_RADIUS_M, WorkerIndex
from alerts.workers import Latitude, Longitude, Place, Worker, haversine_rad, radians_of
from devices.envelope import Name
from processors.detection import Service, Severity

IneligibleReason = Literal["skill", "credential_expired", "off_shift", "too_far", "workload"]


class MatchRules(BaseModel):
    """How a job is matched: the hard limits and the ranking's bands."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    radius_m: float = Field(default=3000.0, gt=0, le=MAX_RADIUS_M, description="metres")
    max_active_jobs: int = Field(
        default=3, ge=1, le=50, description="a worker with this many jobs in hand is full"
    )
    distance_band_m: float = Field(
        default=500.0, gt=0, le=MAX_RADIUS_M, description="distances within a band tie"
    )
    rating_band: float = Field(default=0.5, gt=0, le=5, description="stars within a band tie")
    rating_prior: float = Field(default=4.0, ge=0, le=5, description="rating of the unrated")
    rating_prior_weight: int = Field(
        default=5, ge=0, le=1000, description="pseudo-ratings at the prior"
    )


DEFAULT_RULES: Final = MatchRules()


class Job(BaseModel):
    """What is to be matched: a service at a home on a day."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    home_id: Name = Field(description="also the continuity key: who served this home before")
    lat: Latitude
    lon: Longitude
    service: Service
    service_date: date = Field(description="home-local day the work is done: credentials checked")
    severity: Severity = "medium"

    @property
    def place(self) -> Place:
        return Place(lat=self.lat, lon=self.lon)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An eligible worker with what ranked them."""

    worker: Worker
    distance_m: float
    served_before: bool

    @property
    def worker_id(self) -> str:
        return self.worker.worker_id


def eligible(
    worker: Worker, job: Job, rules: MatchRules = DEFAULT_RULES, *, distance_m: float | None = None
) -> list[IneligibleReason]:
    """Every hard filter `worker` fails for `job`; empty means eligible.

    `distance_m` may be passed when already known (from the same haversine).
    """
    failed: list[IneligibleReason] = []
    if job.service not in worker.skills:
        failed.append("skill")
    if job.service_date > worker.credential_expires:
        failed.append("credential_expired")
    if not worker.on_shift:
        failed.append("off_shift")
    if distance_m is None:
        distance_m = haversine_rad(radians_of(job.lat, job.lon), radians_of(worker.lat, worker.lon))
    if not distance_m <= rules.radius_m:  # NaN is too far
        failed.append("too_far")
    if worker.active_jobs >= rules.max_active_jobs:
        failed.append("workload")
    return failed


def effective_rating(worker: Worker, rules: MatchRules = DEFAULT_RULES) -> float:
    """The mean rating shrunk towards the prior: what ranking compares."""
    weight = rules.rating_prior_weight
    count = worker.rating_count
    if count + weight == 0:
        return rules.rating_prior
    return (worker.rating * count + rules.rating_prior * weight) / (count + weight)


def rank_key(candidate: Candidate, rules: MatchRules = DEFAULT_RULES) -> tuple[object, ...]:
    """The sort key of the ranking in the module docstring (smaller is better)."""
    worker = candidate.worker
    return (
        math.floor(candidate.distance_m / rules.distance_band_m),
        -math.floor(effective_rating(worker, rules) / rules.rating_band + 1e-9),
        not candidate.served_before,
        worker.active_jobs,
        candidate.distance_m,
        worker.worker_id,
    )


def rank(
    job: Job,
    candidates: Iterable[tuple[Worker, float]],
    history: Collection[str] = frozenset(),
    rules: MatchRules = DEFAULT_RULES,
) -> list[Candidate]:
    """Eligible `(worker, metres)` pairs in offer order; `history`: ids who served the home.

    Ranking does not filter: pass only workers `eligible` accepted (`match` does).
    """
    ranked = [
        Candidate(worker=worker, distance_m=metres, served_before=worker.worker_id in history)
        for worker, metres in candidates
    ]
    ranked.sort(key=lambda candidate: rank_key(candidate, rules))
    return ranked


def match(
    job: Job,
    index: WorkerIndex,
    workers: Mapping[str, Worker],
    rules: MatchRules = DEFAULT_RULES,
    *,
    exclude: Collection[str] = frozenset(),
    history: Collection[str] = frozenset(),
    limit: int | None = None,
) -> list[Candidate]:
    """The eligible workers for `job`, best first; never a scan of all workers.

    The index proposes the workers of the job's service within the radius; each is
    then judged on its `workers` snapshot (the source of truth: a stale index can
    only miss a worker, never admit an ineligible one). `exclude`: workers already
    offered this dispatch.
    """
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1")
    nearby = index.ids_within(job.lat, job.lon, rules.radius_m, service=job.service)
    origin = radians_of(job.lat, job.lon)
    passing: list[tuple[Worker, float]] = []
    for worker_id in nearby:
        if worker_id in exclude:
            continue
        worker = workers.get(worker_id)
        if worker is None:
            continue  # indexed but gone from the snapshot: the shell will drop it
        # Cheap filters before the distance; the distance is from the snapshot.
        if (
            not worker.on_shift
            or worker.active_jobs >= rules.max_active_jobs
            or job.service not in worker.skills
            or job.service_date > worker.credential_expires
        ):
            continue
        metres = haversine_rad(origin, radians_of(worker.lat, worker.lon))
        if eligible(worker, job, rules, distance_m=metres):
            continue
        passing.append((worker, metres))
    ranked = rank(job, passing, history, rules)
    return ranked if limit is None else ranked[:limit]
