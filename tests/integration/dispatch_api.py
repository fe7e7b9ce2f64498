"""Care workers and dispatches made over HTTP for the API tests, as an admin and a dispatcher would.

`module_rig` serves one API per database for a whole module whose tests each make
their own objects (a rig costs seconds; a table of cases should not pay it per row).
`hire` adds a worker with a login (password `PASSWORD`, so `rig.headers(username)`
works) a given distance from h1; `offered` makes a dispatcher's dispatch at a home
offered to a chosen worker, the state most worker actions start from.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from alerts.workers import EARTH_RADIUS_M
from anxin.settings import Settings
from records.database import migrate, open_engine
from tests.integration.api_rig import PASSWORD, ApiRig, api_rig

H1 = (22.52, 113.39)
"""Where the rig puts home h1 (h2 is ~4.4 km north of it)."""
H2 = (22.56, 113.39)


def north_of(origin: tuple[float, float], metres: float) -> tuple[float, float]:
    lat, lon = origin
    return lat + metres / EARTH_RADIUS_M * 180 / 3.141592653589793, lon


def hire(
    rig: ApiRig,
    username: str,
    *,
    metres_from_h1: float = 300.0,
    skills: tuple[str, ...] = ("medical", "housekeeping", "meal", "wellbeing", "technical"),
    code: str | None = None,
    on_shift: bool = True,
    near: tuple[float, float] = H1,
) -> dict[str, Any]:
    """A worker `w-<username>` with a login, on shift, `metres_from_h1` north of `near`."""
    lat, lon = north_of(near, metres_from_h1)
    body = {
        "worker_id": f"w-{username}",
        "name": username.title(),
        "skills": list(skills),
        "credential_code": code or f"CARD-{username.upper()}",
        "credential_expires": "2099-12-31",
        "lat": lat,
        "lon": lon,
        "on_shift": on_shift,
        "username": username,
        "password": PASSWORD,
    }
    answer = rig.client.post("/api/v1/workers", json=body, headers=rig.headers("root"))
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def offered(
    rig: ApiRig, worker_id: str, *, home_id: str = "h1", service: str = "housekeeping"
) -> str:
    """A dispatcher's dispatch at the home, offered to `worker_id`; its id."""
    answer = rig.client.post(
        "/api/v1/dispatches",
        json={"home_id": home_id, "service": service, "worker_id": worker_id},
        headers=rig.headers("ann"),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "offered"
    dispatch_id: str = answer.json()["dispatch_id"]
    return dispatch_id


def act(
    rig: ApiRig, username: str, dispatch_id: str, action: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A worker's step that must succeed; the dispatch after it."""
    answer = rig.client.post(
        f"/api/v1/dispatches/{dispatch_id}/{action}", json=body, headers=rig.headers(username)
    )
    assert answer.status_code == 200, answer.text
    after: dict[str, Any] = answer.json()
    return after


def module_rig(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiRig]:
    """For a module-scoped fixture parametrised `["sqlite", "postgresql"]`: wen and bo
    hired near h1 (codes `CARD-WEN`, `CARD-BO`)."""
    data_dir = tmp_path_factory.mktemp("api")
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'anxin.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database(f"api_{uuid.uuid4().hex}")
    engine = open_engine(url)
    migrate(engine)
    try:
        for rig in api_rig(engine, Settings(data_dir=data_dir)):
            hire(rig, "wen", metres_from_h1=300, code="CARD-WEN")
            hire(rig, "bo", metres_from_h1=600, code="CARD-BO")
            yield rig
    finally:
        engine.dispose()
