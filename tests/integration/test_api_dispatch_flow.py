"""An alarm answered end to end over HTTP: offer, accept, trip, check-in, done, rated."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from anxin.settings import Settings
from tests.integration.api_helpers import open_alert
from tests.integration.api_rig import ApiRig, api_rig
from tests.integration.dispatch_api import H1, H2, act, hire, north_of

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(records_engine: Engine, tmp_path: Path) -> Iterator[ApiRig]:
    yield from api_rig(records_engine, Settings(data_dir=tmp_path))


def test_an_sos_is_answered_by_the_worker_nearby_and_rated_by_the_family(rig: ApiRig) -> None:
    worker = hire(rig, "wen", metres_from_h1=300, code="CARD-0042")
    assert set(worker) == {  # no credential code (the check-in proof), no password
        "worker_id",
        "name",
        "skills",
        "credential_expires",
        "credential_valid",
        "lat",
        "lon",
        "on_shift",
        "rating",
        "rating_count",
        "active_jobs",
    }
    alert_id = open_alert(rig, "h1", "sos")
    ann, wen, mei = rig.headers("ann"), rig.headers("wen"), rig.headers("mei")

    candidates = rig.client.get(f"/api/v1/alerts/{alert_id}/candidates", headers=ann)
    assert candidates.status_code == 200, candidates.text
    [candidate] = candidates.json()
    assert candidate["worker_id"] == "w-wen"
    assert candidate["distance_m"] == pytest.approx(300, abs=1)

    mine = rig.client.get("/api/v1/dispatches", headers=wen).json()
    [offer] = mine
    assert (offer["alert_id"], offer["home_id"], offer["service"]) == (alert_id, "h1", "medical")
    assert (offer["status"], offer["worker_id"]) == ("offered", "w-wen")
    assert offer["offer_deadline"] is not None
    assert offer["history"] is None  # a dispatcher's view only
    dispatch_id = offer["dispatch_id"]

    assert act(rig, "wen", dispatch_id, "accept")["status"] == "accepted"
    alert = rig.client.get(f"/api/v1/alerts/{alert_id}", headers=ann).json()
    assert alert["status"] == "dispatched"
    assert act(rig, "wen", dispatch_id, "start")["status"] == "en_route"

    wrong = rig.client.post(
        f"/api/v1/dispatches/{dispatch_id}/arrive",
        json={"lat": H1[0], "lon": H1[1], "code": "CARD-9999"},
        headers=wen,
    )
    assert (wrong.status_code, wrong.json()["reason"]) == (422, "wrong_code")
    far = rig.client.post(
        f"/api/v1/dispatches/{dispatch_id}/arrive",
        json={"lat": H2[0], "lon": H2[1], "code": "CARD-0042"},
        headers=wen,
    )
    assert (far.status_code, far.json()["reason"]) == (422, "too_far")
    at_door = north_of(H1, 20)
    arrived = act(
        rig,
        "wen",
        dispatch_id,
        "arrive",
        {"lat": at_door[0], "lon": at_door[1], "code": "CARD-0042"},
    )
    assert arrived["status"] == "on_site"
    assert arrived["check_in"]["distance_m"] == pytest.approx(20, abs=1)

    done = act(
        rig, "wen", dispatch_id, "complete", {"notes": "resident fine, button pressed by mistake"}
    )
    assert done["status"] == "completed"
    assert done["accepted_at"] <= done["en_route_at"] <= done["on_site_at"] <= done["completed_at"]
    alert = rig.client.get(f"/api/v1/alerts/{alert_id}", headers=ann).json()
    assert alert["status"] == "resolved"

    history = rig.client.get("/api/v1/dispatches", headers=mei).json()
    assert [d["dispatch_id"] for d in history] == [dispatch_id]
    assert (
        rig.client.post(
            f"/api/v1/dispatches/{dispatch_id}/rate", json={"stars": 4}, headers=rig.headers("li")
        ).status_code
        == 404
    )
    rated = rig.client.post(
        f"/api/v1/dispatches/{dispatch_id}/rate", json={"stars": 4}, headers=mei
    )
    assert rated.status_code == 200, rated.text
    assert rated.json()["rating"] == 4
    again = rig.client.post(
        f"/api/v1/dispatches/{dispatch_id}/rate", json={"stars": 5}, headers=mei
    )
    assert again.status_code == 409

    [listed] = rig.client.get("/api/v1/workers", headers=ann).json()
    assert (listed["rating"], listed["rating_count"], listed["active_jobs"]) == (4.0, 1, 0)
    verified = rig.client.get("/api/v1/workers/verify/CARD-0042")
    assert verified.status_code == 200
    assert verified.json() == {
        "name": "Wen",
        "skills": ["housekeeping", "meal", "medical", "technical", "wellbeing"],
        "credential_valid": True,
        "rating": 4.0,
        "rating_count": 1,
    }
