"""The alert queue and lifecycle actions over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from anxin.settings import Settings
from tests.integration.api_helpers import module_rig, open_alert
from tests.integration.api_rig import ApiRig, api_rig
from tests.integration.dispatch_api import hire

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(records_engine: Engine, tmp_path: Path) -> Iterator[ApiRig]:
    yield from api_rig(records_engine, Settings(data_dir=tmp_path))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiRig]:
    """One rig for the module's refusal tests (a refused call changes nothing)."""
    yield from module_rig(request, tmp_path_factory)


def test_the_queue_lists_newest_first_and_filters_by_status(rig: ApiRig) -> None:
    first = open_alert(rig, "h1", "sos")
    second = open_alert(rig, "h2", "leak")
    third = open_alert(rig, "h1", "smoke")
    ann = rig.headers("ann")
    assert rig.client.post(f"/api/v1/alerts/{second}/acknowledge", headers=ann).status_code == 200

    every = rig.client.get("/api/v1/alerts", headers=ann)
    assert every.status_code == 200
    assert [a["alert_id"] for a in every.json()] == [third, second, first]
    acknowledged = rig.client.get("/api/v1/alerts", params={"status": "acknowledged"}, headers=ann)
    assert [a["alert_id"] for a in acknowledged.json()] == [second]
    one = rig.client.get("/api/v1/alerts", params={"limit": 1}, headers=rig.headers("root"))
    assert [a["alert_id"] for a in one.json()] == [third]


@pytest.mark.parametrize(
    "params", [{"status": "closed"}, {"limit": 0}, {"limit": 1001}, {"limit": "ten"}]
)
def test_bad_queue_queries_are_422(shared: ApiRig, params: dict[str, str | int]) -> None:
    answer = shared.client.get("/api/v1/alerts", params=params, headers=shared.headers("ann"))
    assert answer.status_code == 422
    assert answer.json()["detail"]


def test_one_alert_comes_with_its_evidence_and_history(rig: ApiRig) -> None:
    alert_id = open_alert(rig, "h1", "fall")
    answer = rig.client.get(f"/api/v1/alerts/{alert_id}", headers=rig.headers("mei"))
    assert answer.status_code == 200
    alert = answer.json()
    assert (alert["home_id"], alert["kind"], alert["status"]) == ("h1", "fall", "open")
    assert alert["evidence"][0]["device_id"] == "d1"
    assert [t["event"] for t in alert["history"]] == ["opened"]


def test_the_lifecycle_walks_open_acknowledged_dispatched_resolved(rig: ApiRig) -> None:
    alert_id = open_alert(rig, "h1", "sos")
    ann = rig.headers("ann")
    steps = [
        ("acknowledge", {"reason": "calling the resident"}, "acknowledged"),
        ("dispatch", None, "dispatched"),
        ("resolve", {"reason": "resident fine, paramedics left"}, "resolved"),
    ]
    for action, body, status in steps:
        answer = rig.client.post(f"/api/v1/alerts/{alert_id}/{action}", json=body, headers=ann)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == status
    history = rig.client.get(f"/api/v1/alerts/{alert_id}", headers=ann).json()["history"]
    assert [(t["event"], t["actor"], t["reason"]) for t in history] == [
        ("opened", "detector:sos", "sos in h1"),
        ("acknowledged", "dispatcher:ann", "calling the resident"),
        ("dispatched", "dispatcher:ann", ""),
        ("resolved", "dispatcher:ann", "resident fine, paramedics left"),
    ]
    # nothing further: a resolved alert cannot be acknowledged again
    again = rig.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=ann)
    assert again.status_code == 409
    assert "resolved" in again.json()["detail"]


def test_a_cancel_is_a_false_alarm_with_a_reason(rig: ApiRig) -> None:
    alert_id = open_alert(rig, "h1", "fall")
    root = rig.headers("root")
    for body in (None, {}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}):
        answer = rig.client.post(f"/api/v1/alerts/{alert_id}/cancel", json=body, headers=root)
        assert answer.status_code == 422, body
    answer = rig.client.post(
        f"/api/v1/alerts/{alert_id}/cancel", json={"reason": "dropped the watch"}, headers=root
    )
    assert answer.status_code == 200
    last = answer.json()["history"][-1]
    assert (last["event"], last["actor"], last["reason"]) == (
        "cancelled",
        "admin:root",
        "dropped the watch",
    )


@pytest.mark.parametrize(
    "body",
    [
        {"reason": "x" * 501},
        {"reason": 5},
        {"reason": "ok", "status": "resolved"},
        {"actor": "dispatcher:someone-else"},
        ["reason"],
        "reason",
    ],
)
def test_hostile_action_bodies_are_422(shared: ApiRig, body: object) -> None:
    alert_id = open_alert(shared, "h1", "sos")
    answer = shared.client.post(
        f"/api/v1/alerts/{alert_id}/acknowledge", json=body, headers=shared.headers("ann")
    )
    assert answer.status_code == 422
    assert shared.context.alerts.get(alert_id).status == "open"  # type: ignore[union-attr]


def test_actions_on_unknown_alerts_are_404(shared: ApiRig) -> None:
    answer = shared.client.post("/api/v1/alerts/nope/acknowledge", headers=shared.headers("ann"))
    assert answer.status_code == 404
    assert answer.json() == {"detail": "not found"}


def test_a_family_lists_only_its_own_homes_alerts_closed_ones_too(rig: ApiRig) -> None:
    own = open_alert(rig, "h1", "sos")
    open_alert(rig, "h2", "leak")
    ann = rig.headers("ann")
    assert rig.client.post(f"/api/v1/alerts/{own}/resolve", headers=ann).status_code == 200
    mine = rig.client.get("/api/v1/alerts", headers=rig.headers("mei"))
    assert mine.status_code == 200
    assert [(a["alert_id"], a["status"]) for a in mine.json()] == [(own, "resolved")]


def offers_to(rig: ApiRig, username: str) -> list[dict[str, Any]]:
    answer = rig.client.get(
        "/api/v1/dispatches", params={"status": "offered"}, headers=rig.headers(username)
    )
    assert answer.status_code == 200, answer.text
    jobs: list[dict[str, Any]] = answer.json()
    return jobs


def test_a_dispatcher_sends_the_worker_they_chose(rig: ApiRig) -> None:
    hire(rig, "near", metres_from_h1=200)
    hire(rig, "far", metres_from_h1=2_000)
    alert_id = open_alert(rig, "h1", "sos")
    ann = rig.headers("ann")
    # every alert is offered at once to the best worker: the nearest
    assert [d["worker_id"] for d in offers_to(rig, "near")] == ["w-near"]
    sent = rig.client.post(
        f"/api/v1/alerts/{alert_id}/dispatch", json={"worker_id": "w-far"}, headers=ann
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "dispatched"
    assert offers_to(rig, "near") == []  # the pending offer was called off
    [job] = offers_to(rig, "far")
    assert job["alert_id"] == alert_id
    ghost = rig.client.post(
        f"/api/v1/alerts/{alert_id}/dispatch", json={"worker_id": "w-ghost"}, headers=ann
    )
    assert ghost.status_code == 404
