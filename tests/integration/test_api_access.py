"""Who may call what: every route of the API against every role, on their own objects and
on others'. CONTRACT §5: anything a caller may not see is 404, not 403, even when it
exists, so ids do not leak; no token is 401.

Each row is one route; each column a caller: root (admin), ann (dispatcher), mei
(`family_own`), li (`family_other`), wen (a care worker: none of these routes serve
workers) and nobody. Each row gets a home of its own, linked to mei and not to li, so
rows share one server yet never see each other's alerts.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from anxin.settings import Settings
from devices.registry import Home
from processors.detection import AlertKind
from tests.integration.api_helpers import module_rig, open_alert
from tests.integration.api_rig import ApiRig, api_rig
from tests.integration.dispatch_api import hire

pytestmark = pytest.mark.integration

CALLERS: dict[str, str | None] = {
    "admin": "root",
    "dispatcher": "ann",
    "family_own": "mei",
    "family_other": "li",
    "worker": "wen",
    "anonymous": None,
}
KINDS: dict[str, AlertKind] = {
    "admin": "sos",
    "dispatcher": "fall",
    "family_own": "leak",
    "family_other": "smoke",
    "worker": "no_meal",
    "anonymous": "home_climate",
}
"""A fresh alert per caller for the actions (one open alert per kind and home)."""

_serial = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}"


Codes = tuple[int, int, int, int, int, int]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    """`{home}` is the row's home; `{alert}` an alert of it: one shared, or fresh per caller."""
    expect: Codes
    """admin, dispatcher, family_own, family_other, worker, anonymous."""
    body: Callable[[], Any] | None = None
    fresh_alert: bool = False
    params: dict[str, str] = field(default_factory=dict)


def everyone(code: int) -> Codes:
    return (code, code, code, code, code, 401)


NOBODY_SEES_IT = everyone(404)
ADMIN_ONLY_201: Codes = (201, 404, 404, 404, 404, 401)
ADMIN_ONLY_200: Codes = (200, 404, 404, 404, 404, 401)
DISPATCHERS: Codes = (200, 200, 404, 404, 404, 401)
THE_HOMES_PEOPLE: Codes = (200, 200, 200, 404, 404, 401)
CONSOLE_USERS: Codes = (200, 200, 200, 200, 404, 401)

ROUTES: dict[str, Route] = {
    "status": Route("GET", "/api/v1/homes/{home}/status", THE_HOMES_PEOPLE),
    "status of no home": Route("GET", "/api/v1/homes/h9/status", NOBODY_SEES_IT),
    "telemetry": Route(
        "GET", "/api/v1/homes/{home}/telemetry", THE_HOMES_PEOPLE, params={"type": "vitals"}
    ),
    "telemetry of no home": Route(
        "GET", "/api/v1/homes/h9/telemetry", NOBODY_SEES_IT, params={"type": "vitals"}
    ),
    "alert list": Route("GET", "/api/v1/alerts", CONSOLE_USERS),  # a family: its homes
    "one alert": Route("GET", "/api/v1/alerts/{alert}", THE_HOMES_PEOPLE),
    "no alert": Route("GET", "/api/v1/alerts/a404", NOBODY_SEES_IT),
    "acknowledge": Route(
        "POST", "/api/v1/alerts/{alert}/acknowledge", DISPATCHERS, fresh_alert=True
    ),
    "dispatch": Route(
        "POST",
        "/api/v1/alerts/{alert}/dispatch",
        DISPATCHERS,
        body=lambda: {"reason": "ambulance"},
        fresh_alert=True,
    ),
    "resolve": Route("POST", "/api/v1/alerts/{alert}/resolve", DISPATCHERS, fresh_alert=True),
    "cancel": Route(
        "POST",
        "/api/v1/alerts/{alert}/cancel",
        DISPATCHERS,
        body=lambda: {"reason": "false alarm"},
        fresh_alert=True,
    ),
    "acknowledge no alert": Route("POST", "/api/v1/alerts/a404/acknowledge", NOBODY_SEES_IT),
    "alert stream": Route("GET", "/api/v1/alerts/stream", CONSOLE_USERS),
    "home list": Route("GET", "/api/v1/homes", CONSOLE_USERS),
    "create home": Route(
        "POST", "/api/v1/homes", ADMIN_ONLY_201, body=lambda: {"lat": 22.5, "lon": 113.4}
    ),
    "patch home": Route(
        "PATCH", "/api/v1/homes/{home}", ADMIN_ONLY_200, body=lambda: {"away": True}
    ),
    "patch no home": Route(
        "PATCH", "/api/v1/homes/h9", NOBODY_SEES_IT, body=lambda: {"away": True}
    ),
    "add device": Route(
        "POST", "/api/v1/homes/{home}/devices", ADMIN_ONLY_201, body=lambda: {"type": "motion"}
    ),
    "add device to no home": Route(
        "POST", "/api/v1/homes/h9/devices", NOBODY_SEES_IT, body=lambda: {"type": "motion"}
    ),
    "create family": Route(
        "POST",
        "/api/v1/families",
        ADMIN_ONLY_201,
        body=lambda: {"username": unique("fam"), "password": "long enough!", "home_ids": ["h1"]},
    ),
    "create dispatcher": Route(
        "POST",
        "/api/v1/dispatchers",
        ADMIN_ONLY_201,
        body=lambda: {"username": unique("disp"), "password": "long enough!", "tier": 2},
    ),
    "audit trail": Route("GET", "/api/v1/audit", ADMIN_ONLY_200),
}


@pytest.fixture
def rig(records_engine: Engine, tmp_path: Path) -> Iterator[ApiRig]:
    yield from api_rig(records_engine, Settings(data_dir=tmp_path))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiRig]:
    for rig in module_rig(request, tmp_path_factory):
        hire(rig, "wen")
        yield rig


def home_of_mei(rig: ApiRig) -> str:
    home_id = unique("home")
    rig.context.registry.add_home(Home(home_id=home_id, lat=22.5, lon=113.4))
    rig.context.accounts.link_home("mei", home_id)
    return home_id


def call(rig: ApiRig, route: Route, caller: str, home: str, shared_alert: str) -> int:
    username = CALLERS[caller]
    alert = open_alert(rig, home, KINDS[caller]) if route.fresh_alert else shared_alert
    headers = {} if username is None else rig.headers(username)
    path = route.path.replace("{home}", home).replace("{alert}", alert)
    body = None if route.body is None else route.body()
    if path.endswith("/stream"):
        with rig.client.stream("GET", path, headers=headers) as response:
            return response.status_code  # leaving closes it
    answer = rig.client.request(route.method, path, json=body, params=route.params, headers=headers)
    if answer.status_code >= 400:
        assert answer.headers["content-type"] == "application/json"
    return answer.status_code


@pytest.mark.parametrize("name", ROUTES)
def test_each_caller_gets_the_expected_status(shared: ApiRig, name: str) -> None:
    route = ROUTES[name]
    home = home_of_mei(shared)
    alert = open_alert(shared, home, "bed_exit")
    got = {caller: call(shared, route, caller, home, alert) for caller in CALLERS}
    assert got == dict(zip(CALLERS, route.expect, strict=True))


def test_a_family_lists_only_its_own_homes(rig: ApiRig) -> None:
    for username, homes in (("mei", ["h1"]), ("li", ["h2"]), ("ann", ["h1", "h2"])):
        answer = rig.client.get("/api/v1/homes", headers=rig.headers(username))
        assert [h["home_id"] for h in answer.json()] == homes


def test_a_refusal_reads_the_same_as_a_missing_object(shared: ApiRig) -> None:
    alert_id = open_alert(shared, "h1", "sos")
    li = shared.headers("li")
    pairs = [
        ("/api/v1/homes/h1/status", "/api/v1/homes/h9/status"),
        (f"/api/v1/alerts/{alert_id}", "/api/v1/alerts/a404"),
        (f"/api/v1/alerts/{alert_id}/acknowledge", "/api/v1/alerts/a404/acknowledge"),
    ]
    for existing, missing in pairs:
        method = "POST" if existing.endswith("acknowledge") else "GET"
        refused = shared.client.request(method, existing, headers=li)
        absent = shared.client.request(method, missing, headers=li)
        assert (refused.status_code, refused.json()) == (absent.status_code, absent.json())
