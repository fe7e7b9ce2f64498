"""Care workers over HTTP: provisioning, the dispatchers' map, a worker's own position, `me`,
and the family's check of a credential code at the door."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from anxin.settings import Settings
from tests.integration.api_helpers import open_alert
from tests.integration.api_rig import PASSWORD, ApiRig, api_rig
from tests.integration.dispatch_api import H1, hire, north_of

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(records_engine: Engine, tmp_path: Path) -> Iterator[ApiRig]:
    yield from api_rig(records_engine, Settings(data_dir=tmp_path))


def worker_body(**fields: Any) -> dict[str, Any]:
    body = {
        "name": "Yu",
        "skills": ["meal"],
        "credential_code": "CARD-YU",
        "credential_expires": "2099-12-31",
        "lat": 22.5,
        "lon": 113.4,
    }
    return body | fields


def test_workers_are_provisioned_once_per_id_code_and_username(rig: ApiRig) -> None:
    root = rig.headers("root")
    first = rig.client.post("/api/v1/workers", json=worker_body(), headers=root)
    assert first.status_code == 201, first.text
    assert first.json()["worker_id"].startswith("w-")  # generated
    assert first.json()["on_shift"] is False
    worker_id = first.json()["worker_id"]
    taken = [
        worker_body(),  # the same credential code: one person, one code
        worker_body(worker_id=worker_id, credential_code="CARD-OTHER"),
        worker_body(credential_code="CARD-ANN", username="ann", password=PASSWORD),
    ]
    for body in taken:
        answer = rig.client.post("/api/v1/workers", json=body, headers=root)
        assert answer.status_code == 409, answer.text
    # a refused login leaves no worker behind
    listed = rig.client.get("/api/v1/workers", headers=rig.headers("ann")).json()
    assert [worker["worker_id"] for worker in listed] == [worker_id]


def test_the_map_lists_place_shift_rating_and_load_and_a_worker_moves_themselves(
    rig: ApiRig,
) -> None:
    hire(rig, "wen", skills=("medical",))
    hire(rig, "bo", skills=("meal",), on_shift=False)
    ann = rig.headers("ann")

    def listed(**params: Any) -> list[str]:
        answer = rig.client.get("/api/v1/workers", params=params, headers=ann)
        assert answer.status_code == 200, answer.text
        return [worker["worker_id"] for worker in answer.json()]

    assert listed() == ["w-bo", "w-wen"]
    assert listed(service="meal") == ["w-bo"]
    assert listed(on_shift=True) == ["w-wen"]
    assert listed(limit=1) == ["w-bo"]

    lat, lon = north_of(H1, 50)
    moved = rig.client.patch(
        "/api/v1/workers/me",
        json={"lat": lat, "lon": lon, "on_shift": False},
        headers=rig.headers("wen"),
    )
    assert moved.status_code == 200, moved.text
    [wen] = [
        w
        for w in rig.client.get("/api/v1/workers", headers=ann).json()
        if w["worker_id"] == "w-wen"
    ]
    assert (wen["lat"], wen["lon"], wen["on_shift"]) == (
        pytest.approx(lat),
        pytest.approx(lon),
        False,
    )
    assert (wen["rating"], wen["rating_count"], wen["active_jobs"]) == (0.0, 0, 0)
    # matching follows at once: off shift, wen is nobody's candidate; back on, he is
    alert_id = open_alert(rig, "h1", "sos")
    candidates = f"/api/v1/alerts/{alert_id}/candidates"
    assert rig.client.get(candidates, headers=ann).json() == []
    back = rig.client.patch(
        "/api/v1/workers/w-wen", json={"on_shift": True}, headers=rig.headers("root")
    )
    assert back.json()["on_shift"] is True
    [candidate] = rig.client.get(candidates, headers=ann).json()
    assert (candidate["worker_id"], candidate["distance_m"]) == ("w-wen", pytest.approx(50, abs=1))


def test_me_names_the_role_homes_and_worker(rig: ApiRig) -> None:
    hire(rig, "wen")
    expected = {
        "root": ("admin", [], None, None),
        "ann": ("dispatcher", [], None, 1),
        "mei": ("family", ["h1"], None, None),
        "wen": ("worker", [], "w-wen", None),
    }
    for username, (role, home_ids, worker_id, tier) in expected.items():
        me = rig.client.get("/api/v1/me", headers=rig.headers(username)).json()
        assert me == {
            "username": username,
            "role": role,
            "home_ids": home_ids,
            "worker_id": worker_id,
            "tier": tier,
        }


def test_a_credential_check_tells_little_and_cannot_be_hammered(rig: ApiRig) -> None:
    hire(rig, "wen", code="CARD-0042")
    rig.client.patch("/api/v1/workers/w-wen", json={"on_shift": False}, headers=rig.headers("root"))
    known = rig.client.get("/api/v1/workers/verify/CARD-0042")
    assert known.status_code == 200
    assert set(known.json()) == {"name", "skills", "credential_valid", "rating", "rating_count"}
    assert rig.client.get("/api/v1/workers/verify/bad code!").status_code == 422
    codes = [rig.client.get(f"/api/v1/workers/verify/CARD-{n:04d}").status_code for n in range(25)]
    assert codes[:19] == [404] * 19  # 20 checks per address, the first spent above
    assert set(codes[19:]) == {429}
    assert rig.client.get("/api/v1/workers/verify/CARD-0042").status_code == 429
