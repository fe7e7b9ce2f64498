"""Who may do what: every dispatch, worker and booking route against every role, on both
databases.

Each cell starts from fresh objects made for it (a dispatch offered to wen, one he holds
at each step, a booking of h1...), so a refusal in one cell cannot hide behind a state
another cell left. Anyone but the owner gets 404 for an object that exists (CONTRACT
§5: ids do not leak), a role a route does not serve gets 404 too, and no token is 401.
A dispatcher (or admin) may enter a worker's step for the worker who has the dispatch.
The table is the specification: read a row as "root, ann, mei, li, wen, bo, nobody".
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.api_helpers import open_alert
from tests.integration.api_rig import ApiRig
from tests.integration.dispatch_api import H1, act, module_rig, north_of, offered

pytestmark = pytest.mark.integration

ROLES: tuple[str | None, ...] = ("root", "ann", "mei", "li", "wen", "bo", None)
"""admin, dispatcher, family of h1 (own), family of h2 (other), worker offered the
dispatch (own), another worker (other), anonymous."""

Body = dict[str, Any] | None
Target = Callable[[ApiRig], tuple[str, Body]]

_serial = itertools.count(1)


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    target: Target
    expect: str

    def expected(self) -> dict[str, int]:
        codes = [int(code) for code in self.expect.split()]
        assert len(codes) == len(ROLES), self.name
        return {str(role): code for role, code in zip(ROLES, codes, strict=True)}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def rig(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiRig]:
    """One server per database for the whole table: every cell makes its own objects."""
    yield from module_rig(request, tmp_path_factory)


# --- targets: each makes what its cell acts on ---------------------------------------------


def plain(path: str, body: Body = None) -> Target:
    return lambda _rig: (path, body)


def on_offered(action: str = "", body: Body = None) -> Target:
    """A dispatch at h1 offered to wen."""
    return lambda rig: (f"/api/v1/dispatches/{offered(rig, 'w-wen')}{action}", body)


DOOR = north_of(H1, 20)
ARRIVAL = {"lat": DOOR[0], "lon": DOOR[1], "code": "CARD-WEN"}
STEPS: dict[str, list[tuple[str, Body]]] = {
    "accepted": [("accept", None)],
    "en_route": [("accept", None), ("start", None)],
    "on_site": [("accept", None), ("arrive", ARRIVAL)],
    "completed": [("accept", None), ("arrive", ARRIVAL), ("complete", {"notes": "done"})],
}


def on_held(state: str, action: str, body: Body = None) -> Target:
    """A dispatch at h1 that wen has taken as far as `state`."""

    def make(rig: ApiRig) -> tuple[str, Body]:
        dispatch_id = offered(rig, "w-wen")
        for step, step_body in STEPS[state]:
            act(rig, "wen", dispatch_id, step, step_body)
        return f"/api/v1/dispatches/{dispatch_id}/{action}", body

    return make


def on_queued(action: str, body: Body) -> Target:
    """A dispatch at h2, beyond every worker's reach: in the dispatcher queue."""

    def make(rig: ApiRig) -> tuple[str, Body]:
        answer = rig.client.post(
            "/api/v1/dispatches",
            json={"home_id": "h2", "service": "meal"},
            headers=rig.headers("ann"),
        )
        assert answer.json()["status"] == "queued", answer.text
        return f"/api/v1/dispatches/{answer.json()['dispatch_id']}/{action}", body

    return make


def on_alert(action: str) -> Target:
    return lambda rig: (f"/api/v1/alerts/{open_alert(rig, 'h1', 'fall')}/{action}", None)


TOMORROW = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
BOOKING = {"service": "housekeeping", "schedule": {"kind": "once", "on": TOMORROW, "at": "10:00"}}


def on_booking(action: str) -> Target:
    """A booking of h1 made by its family."""

    def make(rig: ApiRig) -> tuple[str, Body]:
        answer = rig.client.post(
            "/api/v1/homes/h1/bookings", json=BOOKING, headers=rig.headers("mei")
        )
        assert answer.status_code == 201, answer.text
        return f"/api/v1/bookings/{answer.json()['booking_id']}/{action}", None

    return make


def new_worker(_rig: ApiRig) -> tuple[str, Body]:
    n = next(_serial)
    body = {
        "worker_id": f"w-new-{n}",
        "name": "New",
        "skills": ["meal"],
        "credential_code": f"CARD-NEW-{n}",
        "credential_expires": "2099-12-31",
        "lat": 22.5,
        "lon": 113.4,
    }
    return "/api/v1/workers", body


NEW_DISPATCH = {"home_id": "h1", "service": "meal"}
SHIFT = {"on_shift": True}
MOVE = {"lat": DOOR[0], "lon": DOOR[1]}

# fmt: off
ROWS = [
    # name                      method   target                                              root ann mei li  wen bo  anon
    Row("me",                     "GET",   plain("/api/v1/me"),                                "200 200 200 200 200 200 401"),
    Row("list dispatches",        "GET",   plain("/api/v1/dispatches"),                        "200 200 200 200 200 200 401"),
    Row("create dispatch",        "POST",  plain("/api/v1/dispatches", NEW_DISPATCH),          "201 201 404 404 404 404 401"),
    Row("read dispatch",          "GET",   on_offered(),                                       "200 200 200 404 200 404 401"),
    Row("read missing dispatch",  "GET",   plain("/api/v1/dispatches/nope"),                   "404 404 404 404 404 404 401"),
    Row("accept",                 "POST",  on_offered("/accept"),                              "200 200 404 404 200 404 401"),
    Row("decline",                "POST",  on_offered("/decline", {"reason": "busy"}),         "200 200 404 404 200 404 401"),
    Row("start",                  "POST",  on_held("accepted", "start"),                       "200 200 404 404 200 404 401"),
    Row("arrive",                 "POST",  on_held("en_route", "arrive", ARRIVAL),             "200 200 404 404 200 404 401"),
    Row("complete",               "POST",  on_held("on_site", "complete", {"notes": "done"}),  "200 200 404 404 200 404 401"),
    Row("cancel",                 "POST",  on_offered("/cancel", {"reason": "in hospital"}),   "200 200 404 404 404 404 401"),
    Row("offer",                  "POST",  on_queued("offer", {"worker_id": "w-wen"}),         "200 200 404 404 404 404 401"),
    Row("rate",                   "POST",  on_held("completed", "rate", {"stars": 5}),         "404 404 200 404 404 404 401"),
    Row("dispatch candidates",    "GET",   on_queued("candidates", None),                      "200 200 404 404 404 404 401"),
    Row("alert candidates",       "GET",   on_alert("candidates"),                             "200 200 404 404 404 404 401"),
    Row("create worker",          "POST",  new_worker,                                         "201 404 404 404 404 404 401"),
    Row("list workers",           "GET",   plain("/api/v1/workers"),                           "200 200 404 404 404 404 401"),
    Row("update worker",          "PATCH", plain("/api/v1/workers/w-wen", SHIFT),              "200 404 404 404 404 404 401"),
    Row("update missing worker",  "PATCH", plain("/api/v1/workers/w-nobody", SHIFT),           "404 404 404 404 404 404 401"),
    Row("update myself",          "PATCH", plain("/api/v1/workers/me", MOVE),                  "404 404 404 404 200 200 401"),
    Row("verify",                 "GET",   plain("/api/v1/workers/verify/CARD-WEN"),           "200 200 200 200 200 200 200"),
    Row("verify unknown",         "GET",   plain("/api/v1/workers/verify/CARD-NONE"),          "404 404 404 404 404 404 404"),
    Row("book",                   "POST",  plain("/api/v1/homes/h1/bookings", BOOKING),        "201 201 201 404 404 404 401"),
    Row("book missing home",      "POST",  plain("/api/v1/homes/nope/bookings", BOOKING),      "404 404 404 404 404 404 401"),
    Row("list bookings",          "GET",   plain("/api/v1/homes/h1/bookings"),                 "200 200 200 404 404 404 401"),
    Row("cancel booking",         "POST",  on_booking("cancel"),                               "200 200 200 404 404 404 401"),
    Row("cancel missing booking", "POST",  plain("/api/v1/bookings/nope/cancel"),              "404 404 404 404 404 404 401"),
]
# fmt: on


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
def test_each_role_gets_what_the_table_says(rig: ApiRig, row: Row) -> None:
    got: dict[str, int] = {}
    for role in ROLES:
        path, body = row.target(rig)
        headers = rig.headers(role) if role is not None else {}
        answer = rig.client.request(row.method, path, json=body, headers=headers)
        got[str(role)] = answer.status_code
        assert answer.status_code < 500, answer.text
        if answer.status_code == 404:
            assert answer.json() == {"detail": "not found"}, answer.text  # nothing leaks
    assert got == row.expected()
