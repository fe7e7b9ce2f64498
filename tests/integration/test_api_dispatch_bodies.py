"""Bodies that try to set what they may not, or say what cannot be, are 422 naming the
problem: no mass assignment (a worker cannot set a rating, a family a worker), nothing
unbounded, nothing coerced (`"22.5"` is not a latitude)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.api_rig import ApiRig
from tests.integration.dispatch_api import act, module_rig, offered

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def rig(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiRig]:
    yield from module_rig(request, tmp_path_factory)


WORKER = {
    "name": "Yu",
    "skills": ["meal"],
    "credential_code": "CARD-YU",
    "credential_expires": "2099-12-31",
    "lat": 22.5,
    "lon": 113.4,
}
ONCE = {"kind": "once", "on": "2099-01-01", "at": "10:00"}
DAILY = {"kind": "daily", "at": "11:30"}

CASES: list[tuple[str, str, str, dict[str, Any]]] = [
    # method, path, who, body
    ("POST", "/api/v1/dispatches", "ann", {"home_id": "h1", "service": "meal", "status": "completed"}),
    ("POST", "/api/v1/dispatches", "ann", {"home_id": "h1", "service": "meal", "rating": 5}),
    ("POST", "/api/v1/dispatches", "ann", {"home_id": "h1", "service": "laundry"}),
    ("POST", "/api/v1/dispatches", "ann", {"home_id": "../h1", "service": "meal"}),
    ("POST", "/api/v1/dispatches", "ann", {"home_id": "h1", "service": "meal", "scheduled_for": "tomorrow"}),
    ("POST", "{offered}/decline", "wen", {"reason": "busy", "worker_id": "w-bo"}),
    ("POST", "{offered}/decline", "wen", {"reason": "bored"}),
    ("POST", "{offered}/decline", "wen", {"reason": "other", "note": "x" * 501}),
    ("POST", "{held}/arrive", "wen", {"lat": 22.52, "lon": 113.39, "code": "x", "distance_m": 0}),
    ("POST", "{held}/arrive", "wen", {"lat": "22.52", "lon": 113.39, "code": "x"}),
    ("POST", "{held}/arrive", "wen", {"lat": 91, "lon": 113.39, "code": "x"}),
    ("POST", "{held}/arrive", "wen", {"lat": 22.52, "lon": 113.39, "code": "x" * 65}),
    ("POST", "{held}/complete", "wen", {"notes": ""}),
    ("POST", "{held}/complete", "wen", {"notes": "done", "rating": 5}),
    ("POST", "{offered}/offer", "ann", {"worker_id": "w-bo", "deadline": "2099-01-01T00:00:00Z"}),
    ("POST", "{offered}/rate", "mei", {"stars": 6}),
    ("POST", "{offered}/rate", "mei", {"stars": "5"}),
    ("POST", "{offered}/rate", "mei", {"stars": 4.5}),
    ("POST", "{offered}/rate", "mei", {"stars": 5, "worker_id": "w-bo"}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "rating": 5}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "active_jobs": 0}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "worker_id": "me"}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "username": "yu"}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "credential_code": "ab"}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "skills": []}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "skills": ["cooking"]}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "lat": 200}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "credential_expires": "1900-01-01"}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "on_shift": "yes"}),
    ("POST", "/api/v1/workers", "root", {**WORKER, "name": "x" * 101}),
    ("PATCH", "/api/v1/workers/me", "wen", {"lat": 22.5}),
    ("PATCH", "/api/v1/workers/me", "wen", {"rating": 5}),
    ("PATCH", "/api/v1/workers/me", "wen", {"on_shift": None}),
    ("PATCH", "/api/v1/workers/w-wen", "root", {"name": "Someone Else"}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": ONCE, "worker_id": "w-wen"}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": {**ONCE, "on": "2020-01-01"}}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": {**ONCE, "on": "9999-12-31"}}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": {**ONCE, "at": "10:00+08:00"}}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": {**ONCE, "kind": "monthly"}}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": {**DAILY, "weekdays": ["mon"]}}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": {**DAILY, "kind": "weekly", "weekdays": []}}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": {**DAILY, "kind": "weekly", "weekdays": ["funday"]}}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": {**DAILY, "kind": "every_n_days", "every_days": 0}}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": {**DAILY, "starts_on": "2099-02-01", "ends_on": "2099-01-01"}}),
    ("POST", "/api/v1/homes/h1/bookings", "mei", {"service": "meal", "schedule": {**DAILY, "ends_on": "2001-01-01"}}),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "username", "body"), CASES)
def test_the_body_is_refused_naming_the_problem(
    rig: ApiRig, method: str, path: str, username: str, body: dict[str, Any]
) -> None:
    if "{" in path:
        dispatch_id = offered(rig, "w-wen")
        if path.startswith("{held}"):
            act(rig, "wen", dispatch_id, "accept")
        path = path.format(
            offered=f"/api/v1/dispatches/{dispatch_id}", held=f"/api/v1/dispatches/{dispatch_id}"
        )
    answer = rig.client.request(method, path, json=body, headers=rig.headers(username))
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]
