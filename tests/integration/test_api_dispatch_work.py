"""Dispatch work over HTTP beyond the happy path: who sees which dispatch, declines, a
dispatcher's choices, refusals, and bodies that try to set what they may not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from anxin.settings import Settings
from tests.integration.api_helpers import open_alert
from tests.integration.api_rig import ApiRig, api_rig
from tests.integration.dispatch_api import H1, H2, act, hire, north_of, offered

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(records_engine: Engine, tmp_path: Path) -> Iterator[ApiRig]:
    yield from api_rig(records_engine, Settings(data_dir=tmp_path))


def ids(rig: ApiRig, username: str, **params: Any) -> list[str]:
    answer = rig.client.get("/api/v1/dispatches", params=params, headers=rig.headers(username))
    assert answer.status_code == 200, answer.text
    return [dispatch["dispatch_id"] for dispatch in answer.json()]


def test_each_reader_sees_only_the_dispatches_theirs_to_see(rig: ApiRig) -> None:
    hire(rig, "wen", metres_from_h1=300)
    hire(rig, "bo", metres_from_h1=300, near=H2)
    at_h1 = offered(rig, "w-wen", home_id="h1")
    at_h2 = offered(rig, "w-bo", home_id="h2")
    also_h1 = offered(rig, "w-wen", home_id="h1", service="meal")

    assert ids(rig, "ann") == [also_h1, at_h2, at_h1]
    assert ids(rig, "root", home_id="h2") == [at_h2]
    assert ids(rig, "mei") == [also_h1, at_h1]
    assert ids(rig, "li") == [at_h2]
    assert ids(rig, "wen") == [also_h1, at_h1]
    assert ids(rig, "bo") == [at_h2]
    assert ids(rig, "wen", limit=1) == [also_h1]
    act(rig, "wen", at_h1, "accept")
    assert ids(rig, "wen", status="accepted") == [at_h1]
    assert ids(rig, "ann", status="offered") == [also_h1, at_h2]
    # a family naming another home's dispatches is told that home does not exist
    other = rig.client.get(
        "/api/v1/dispatches", params={"home_id": "h2"}, headers=rig.headers("mei")
    )
    assert other.status_code == 404

    family_view = rig.client.get(f"/api/v1/dispatches/{at_h1}", headers=rig.headers("mei")).json()
    dispatcher_view = rig.client.get(
        f"/api/v1/dispatches/{at_h1}", headers=rig.headers("ann")
    ).json()
    assert family_view["history"] is None
    assert family_view["offers"] is None
    assert [step["status"] for step in dispatcher_view["history"]] == [
        "pending",
        "offered",
        "accepted",
    ]
    assert dispatcher_view["offers"][0]["outcome"] == "accepted"


def test_a_decline_goes_to_the_next_worker_and_out_of_the_first_ones_sight(rig: ApiRig) -> None:
    hire(rig, "wen", metres_from_h1=300)
    hire(rig, "bo", metres_from_h1=900)
    dispatch_id = offered(rig, "w-wen")
    wen = rig.headers("wen")
    refused = rig.client.post(
        f"/api/v1/dispatches/{dispatch_id}/decline", json={"reason": "other"}, headers=wen
    )
    assert refused.status_code == 422  # "other" needs a note
    declined = act(
        rig, "wen", dispatch_id, "decline", {"reason": "other", "note": "car broke down"}
    )
    assert (declined["status"], declined["worker_id"]) == ("declined", None)
    assert rig.client.get(f"/api/v1/dispatches/{dispatch_id}", headers=wen).status_code == 404
    assert ids(rig, "wen") == []
    assert ids(rig, "bo") == [dispatch_id]
    offers = rig.client.get(f"/api/v1/dispatches/{dispatch_id}", headers=rig.headers("ann")).json()[
        "offers"
    ]
    assert [(o["worker_id"], o["outcome"], o["reason"]) for o in offers] == [
        ("w-wen", "declined", "other"),
        ("w-bo", "pending", None),
    ]
    # wen can no longer accept what he declined
    late = rig.client.post(f"/api/v1/dispatches/{dispatch_id}/accept", headers=wen)
    assert late.status_code == 404


def test_a_dispatcher_offers_queued_work_to_an_eligible_worker_only(rig: ApiRig) -> None:
    hire(rig, "wen", metres_from_h1=300)
    hire(rig, "bo", metres_from_h1=300, on_shift=False)
    hire(rig, "yu", metres_from_h1=300, skills=("meal",))
    ann = rig.headers("ann")
    queued = rig.client.post(
        "/api/v1/dispatches", json={"home_id": "h2", "service": "medical"}, headers=ann
    ).json()
    assert (queued["status"], queued["worker_id"]) == ("queued", None)
    dispatch_id = queued["dispatch_id"]

    candidates = rig.client.get(f"/api/v1/dispatches/{dispatch_id}/candidates", headers=ann)
    assert candidates.json() == []  # h2 is beyond everyone's 3 km
    for worker_id, reasons in (("w-bo", ["off_shift"]), ("w-yu", ["skill"])):
        answer = rig.client.post(
            f"/api/v1/dispatches/{dispatch_id}/offer", json={"worker_id": worker_id}, headers=ann
        )
        assert answer.status_code == 409
        assert answer.json()["reasons"] == reasons
    missing = rig.client.post(
        f"/api/v1/dispatches/{dispatch_id}/offer", json={"worker_id": "w-nobody"}, headers=ann
    )
    assert missing.status_code == 404
    chosen = rig.client.post(
        f"/api/v1/dispatches/{dispatch_id}/offer", json={"worker_id": "w-wen"}, headers=ann
    )
    assert chosen.status_code == 200
    assert (chosen.json()["status"], chosen.json()["worker_id"]) == ("offered", "w-wen")
    twice = rig.client.post(
        f"/api/v1/dispatches/{dispatch_id}/offer", json={"worker_id": "w-wen"}, headers=ann
    )
    assert twice.status_code == 409
    # and the same safety holds for a dispatch created for a chosen worker
    refused = rig.client.post(
        "/api/v1/dispatches",
        json={"home_id": "h1", "service": "medical", "worker_id": "w-yu"},
        headers=ann,
    )
    assert refused.status_code == 409
    assert ids(rig, "ann") == [dispatch_id]  # nothing was stored for the refused one


def test_a_dispatch_for_an_alert_must_be_about_its_home(rig: ApiRig) -> None:
    alert_id = open_alert(rig, "h1", "leak")
    ann = rig.headers("ann")
    cases = [
        ({"home_id": "h2", "service": "technical", "alert_id": alert_id}, 422),
        ({"home_id": "h1", "service": "technical", "alert_id": "no-such-alert"}, 404),
        ({"home_id": "nowhere", "service": "technical"}, 404),
        ({"home_id": "h1", "service": "technical", "scheduled_for": "2026-12-01T10:00:00"}, 422),
        ({"home_id": "h1", "service": "technical", "alert_id": alert_id}, 201),
    ]
    for body, status in cases:
        answer = rig.client.post("/api/v1/dispatches", json=body, headers=ann)
        assert answer.status_code == status, (body, answer.text)
    made = answer.json()
    assert (made["alert_id"], made["severity"], made["origin"]) == (
        alert_id,
        "critical",
        "dispatcher",
    )


def test_cancelling_needs_a_reason_and_a_live_dispatch(rig: ApiRig) -> None:
    hire(rig, "wen")
    dispatch_id = offered(rig, "w-wen")
    ann = rig.headers("ann")
    path = f"/api/v1/dispatches/{dispatch_id}/cancel"
    assert rig.client.post(path, json={"reason": "  "}, headers=ann).status_code == 422
    assert rig.client.post(path, json={}, headers=ann).status_code == 422
    cancelled = rig.client.post(path, json={"reason": "family took her"}, headers=ann)
    assert cancelled.status_code == 200
    assert cancelled.json()["cancel_reason"] == "family took her"
    assert cancelled.json()["cancelled_at"] is not None
    assert rig.client.post(path, json={"reason": "again"}, headers=ann).status_code == 409
    # the worker it was offered to can still see it was called off
    assert ids(rig, "wen", status="cancelled") == [dispatch_id]


def test_a_dispatcher_records_the_steps_of_a_worker_who_phoned_in(rig: ApiRig) -> None:
    hire(rig, "wen", metres_from_h1=300)
    ann = rig.headers("ann")
    alert_id = open_alert(rig, "h1", "fall")
    [dispatch_id] = ids(rig, "ann", status="offered")
    door = north_of(H1, 20)

    act(rig, "ann", dispatch_id, "accept")
    wrong = rig.client.post(
        f"/api/v1/dispatches/{dispatch_id}/arrive",
        json={"lat": door[0], "lon": door[1], "code": "CARD-ANN"},
        headers=ann,
    )
    assert (wrong.status_code, wrong.json()["reason"]) == (422, "wrong_code")
    act(rig, "ann", dispatch_id, "arrive", {"lat": door[0], "lon": door[1], "code": "CARD-WEN"})
    done = act(rig, "ann", dispatch_id, "complete", {"notes": "helped her up, no injury"})

    assert (done["status"], done["worker_id"]) == ("completed", "w-wen")
    steps = [(s["status"], s["worker_id"], s["recorded_by"]) for s in done["history"]]
    assert steps[-3:] == [
        ("accepted", "w-wen", "dispatcher:ann"),
        ("on_site", "w-wen", "dispatcher:ann"),
        ("completed", "w-wen", "dispatcher:ann"),
    ]
    assert ids(rig, "wen", status="completed") == [dispatch_id]  # still wen's job
    alert = rig.context.alerts.get(alert_id)
    assert alert is not None
    assert (alert.status, alert.history[-1].actor) == ("resolved", "dispatcher:ann")


def test_a_dispatcher_cannot_record_a_step_for_nobody(rig: ApiRig) -> None:
    ann = rig.headers("ann")
    queued = rig.client.post(
        "/api/v1/dispatches", json={"home_id": "h2", "service": "meal"}, headers=ann
    ).json()
    assert queued["status"] == "queued"
    for action, body in (("accept", None), ("decline", {"reason": "busy"})):
        answer = rig.client.post(
            f"/api/v1/dispatches/{queued['dispatch_id']}/{action}", json=body, headers=ann
        )
        assert answer.status_code == 409, answer.text
        assert "not offered to or held by a worker" in answer.json()["detail"]


def test_a_decline_recorded_by_a_dispatcher_still_moves_the_round_on(rig: ApiRig) -> None:
    hire(rig, "wen", metres_from_h1=300)
    hire(rig, "bo", metres_from_h1=900)
    dispatch_id = offered(rig, "w-wen")
    act(rig, "ann", dispatch_id, "decline", {"reason": "busy"})
    after = rig.client.get(f"/api/v1/dispatches/{dispatch_id}", headers=rig.headers("ann")).json()
    assert (after["status"], after["worker_id"]) == ("offered", "w-bo")
    declined = next(s for s in after["history"] if s["status"] == "declined")
    assert (declined["worker_id"], declined["recorded_by"]) == ("w-wen", "dispatcher:ann")
    assert after["history"][-1]["recorded_by"] is None  # the round's own offer


def test_the_worker_offered_a_job_is_told_where_the_home_is(rig: ApiRig) -> None:
    hire(rig, "wen", metres_from_h1=300)
    chosen = offered(rig, "w-wen")
    open_alert(rig, "h1", "fall")  # its automatic dispatch goes to wen too
    for dispatch_id in ids(rig, "wen"):
        seen = rig.client.get(f"/api/v1/dispatches/{dispatch_id}", headers=rig.headers("wen"))
        assert seen.json()["address"] == "1 Xinhua Road, Zhongshan", dispatch_id
    assert chosen in ids(rig, "wen")
