"""Provisioning over HTTP: homes, devices whose MQTT login works, family and dispatcher
logins; and bodies no client should send."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from anxin.settings import Settings
from devices.credentials import verify_password
from tests.integration.api_helpers import module_rig
from tests.integration.api_rig import ApiRig, api_rig

pytestmark = pytest.mark.integration

HOME = {
    "address": "12 Lotus Lane, Zhongshan",
    "lat": 22.52,
    "lon": 113.39,
    "timezone": "Asia/Shanghai",
    "resident": {"name": "Chen Hua", "birth_year": 1941, "conditions": ["diabetes"]},
    "emergency_contacts": [
        {"name": "Chen Jie", "phone": "+86 139 0000 0001", "relation": "daughter"}
    ],
}


@pytest.fixture
def rig(records_engine: Engine, tmp_path: Path) -> Iterator[ApiRig]:
    yield from api_rig(records_engine, Settings(data_dir=tmp_path))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiRig]:
    """One rig for the module's refusal tests (a refused call changes nothing)."""
    yield from module_rig(request, tmp_path_factory)


def test_a_home_round_trip(rig: ApiRig) -> None:
    root = rig.headers("root")
    created = rig.client.post("/api/v1/homes", json={**HOME, "home_id": "h3"}, headers=root)
    assert created.status_code == 201, created.text
    assert created.json() == {**HOME, "home_id": "h3", "away": False}

    generated = rig.client.post("/api/v1/homes", json={"lat": 22.5, "lon": 113.4}, headers=root)
    assert generated.status_code == 201
    new_id = generated.json()["home_id"]
    assert new_id.startswith("home-")
    assert generated.json()["timezone"] == "Asia/Shanghai"

    taken = rig.client.post("/api/v1/homes", json={**HOME, "home_id": "h3"}, headers=root)
    assert taken.status_code == 409
    assert "h3" in taken.json()["detail"]

    listed = rig.client.get("/api/v1/homes", headers=rig.headers("ann"))
    assert [h["home_id"] for h in listed.json()] == sorted(["h1", "h2", "h3", new_id])
    paged = rig.client.get("/api/v1/homes", params={"after": "h1", "limit": 2}, headers=root)
    assert [h["home_id"] for h in paged.json()] == ["h2", "h3"]
    own = rig.client.get("/api/v1/homes", headers=rig.headers("mei"))
    assert [h["home_id"] for h in own.json()] == ["h1"]


def test_patch_changes_only_what_is_sent(rig: ApiRig) -> None:
    root = rig.headers("root")
    assert (
        rig.client.post("/api/v1/homes", json={**HOME, "home_id": "h3"}, headers=root).status_code
        == 201
    )

    away = rig.client.patch("/api/v1/homes/h3", json={"away": True}, headers=root)
    assert away.status_code == 200, away.text
    assert away.json() == {**HOME, "home_id": "h3", "away": True}
    assert rig.context.registry.home("h3").away is True  # type: ignore[union-attr]

    moved = rig.client.patch(
        "/api/v1/homes/h3",
        json={
            "address": "3 Harbour Rd",
            "timezone": "Asia/Urumqi",
            "resident": {"name": "Chen Hua"},
        },
        headers=root,
    )
    body = moved.json()
    assert (body["address"], body["timezone"], body["away"]) == (
        "3 Harbour Rd",
        "Asia/Urumqi",
        True,
    )
    assert body["resident"] == {"name": "Chen Hua", "birth_year": None, "conditions": []}
    assert body["emergency_contacts"] == HOME["emergency_contacts"]
    back = rig.client.patch("/api/v1/homes/h3", json={"away": False}, headers=root)
    assert back.json()["away"] is False
    assert (
        rig.client.patch("/api/v1/homes/nope", json={"away": True}, headers=root).status_code == 404
    )


def test_a_provisioned_devices_password_matches_its_stored_hash(rig: ApiRig) -> None:
    root = rig.headers("root")
    answer = rig.client.post(
        "/api/v1/homes/h1/devices",
        json={
            "device_id": "stove-plug",
            "type": "power",
            "appliance": "stove",
            "report_interval_s": 60,
        },
        headers=root,
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["username"] == "stove-plug"
    assert body["telemetry_topic"] == "anxin/v1/homes/h1/devices/stove-plug/telemetry"
    assert "password_hash" not in body
    stored = rig.context.registry.lookup("stove-plug")
    assert stored is not None
    assert (stored.home_id, stored.type, stored.appliance, stored.report_interval_s) == (
        "h1",
        "power",
        "stove",
        60,
    )
    assert stored.password_hash.startswith("$7$")
    assert verify_password(body["password"], stored.password_hash)
    assert not verify_password(body["password"] + "x", stored.password_hash)

    generated = rig.client.post(
        "/api/v1/homes/h1/devices", json={"type": "motion", "room": "kitchen"}, headers=root
    )
    assert generated.status_code == 201
    assert generated.json()["device_id"].startswith("motion-")
    assert generated.json()["password"] != body["password"]

    again = rig.client.post(
        "/api/v1/homes/h2/devices", json={"device_id": "stove-plug", "type": "power"}, headers=root
    )
    assert again.status_code == 409
    unknown = rig.client.post("/api/v1/homes/h9/devices", json={"type": "power"}, headers=root)
    assert unknown.status_code == 404
    # the status shows the new devices
    devices = rig.client.get("/api/v1/homes/h1/status", headers=root).json()["devices"]
    assert {d["device_id"] for d in devices} == {"stove-plug", generated.json()["device_id"]}


def test_new_family_and_dispatcher_logins_work_with_their_reach(rig: ApiRig) -> None:
    root = rig.headers("root")
    family = rig.client.post(
        "/api/v1/families",
        json={"username": "zhou", "password": "a long family password", "home_ids": ["h2"]},
        headers=root,
    )
    assert family.status_code == 201, family.text
    assert family.json() == {"username": "zhou", "role": "family", "tier": None, "home_ids": ["h2"]}
    dispatcher = rig.client.post(
        "/api/v1/dispatchers",
        json={"username": "bo", "password": "a long dispatcher password", "tier": 2},
        headers=root,
    )
    assert dispatcher.status_code == 201
    assert dispatcher.json() == {"username": "bo", "role": "dispatcher", "tier": 2, "home_ids": []}
    assert "password" not in dispatcher.text

    for username, password in (
        ("zhou", "a long family password"),
        ("bo", "a long dispatcher password"),
    ):
        token = rig.client.post(
            "/api/v1/auth/token", data={"username": username, "password": password}
        )
        assert token.status_code == 200
    zhou = {
        "Authorization": f"Bearer {rig.client.post('/api/v1/auth/token', data={'username': 'zhou', 'password': 'a long family password'}).json()['access_token']}"
    }
    assert rig.client.get("/api/v1/homes/h2/status", headers=zhou).status_code == 200
    assert rig.client.get("/api/v1/homes/h1/status", headers=zhou).status_code == 404

    taken = rig.client.post(
        "/api/v1/dispatchers",
        json={"username": "ann", "password": "another password"},
        headers=root,
    )
    assert taken.status_code == 409
    no_home = rig.client.post(
        "/api/v1/families",
        json={"username": "wu", "password": "a long family password", "home_ids": ["h9"]},
        headers=root,
    )
    assert no_home.status_code == 422
    assert "h9" in no_home.json()["detail"]


TEN_KB = "x" * 10_240


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/homes", {"lat": 91, "lon": 113}),
        ("/api/v1/homes", {"lat": 22, "lon": -181}),
        ("/api/v1/homes", {"lat": "22.5", "lon": 113}),
        ("/api/v1/homes", {"lat": True, "lon": 113}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "timezone": "Mars/Olympus"}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "timezone": "../../etc/passwd"}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "timezone": TEN_KB}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "address": TEN_KB}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "home_id": "has space"}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "home_id": "h" * 65}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "away": "yes"}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "owner": "root"}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "resident": {"name": TEN_KB}}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "resident": {"conditions": [TEN_KB]}}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "resident": {"birth_year": 1800}}),
        ("/api/v1/homes", {"lat": 22, "lon": 113, "resident": {"is_admin": True}}),
        (
            "/api/v1/homes",
            {"lat": 22, "lon": 113, "emergency_contacts": [{"name": "x", "phone": "call me"}]},
        ),
        (
            "/api/v1/homes",
            {"lat": 22, "lon": 113, "emergency_contacts": [{"name": "x", "phone": "110"}] * 11},
        ),
        ("/api/v1/homes", {"lon": 113}),
        ("/api/v1/homes", [1, 2, 3]),
        ("/api/v1/homes", "home"),
        ("/api/v1/homes", None),
        ("/api/v1/homes/h1/devices", {"type": "teleporter"}),
        ("/api/v1/homes/h1/devices", {"type": "power", "report_interval_s": 0}),
        ("/api/v1/homes/h1/devices", {"type": "power", "report_interval_s": 1.5}),
        ("/api/v1/homes/h1/devices", {"type": "power", "report_interval_s": 10**20}),
        ("/api/v1/homes/h1/devices", {"type": "power", "room": "living room"}),
        ("/api/v1/homes/h1/devices", {"type": "power", "home_id": "h2"}),
        ("/api/v1/homes/h1/devices", {"type": "power", "password_hash": "$7$1$x$y"}),
        ("/api/v1/homes/h1/devices", {"type": "power", "device_id": TEN_KB}),
        ("/api/v1/families", {"username": "x", "password": "short", "home_ids": ["h1"]}),
        ("/api/v1/families", {"username": "x", "password": "long enough!", "home_ids": []}),
        (
            "/api/v1/families",
            {"username": "x", "password": "long enough!", "home_ids": ["h1"], "role": "admin"},
        ),
        ("/api/v1/families", {"username": "x y", "password": "long enough!", "home_ids": ["h1"]}),
        ("/api/v1/families", {"username": "x", "password": TEN_KB, "home_ids": ["h1"]}),
        ("/api/v1/dispatchers", {"username": "x", "password": "long enough!", "tier": 0}),
        ("/api/v1/dispatchers", {"username": "x", "password": "long enough!", "tier": "1"}),
        ("/api/v1/dispatchers", {"username": "x", "password": "long enough!", "role": "admin"}),
    ],
)
def test_hostile_bodies_are_422_json(shared: ApiRig, path: str, body: Any) -> None:
    answer = shared.client.post(path, json=body, headers=shared.headers("root"))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"lat": 91},
        {"lat": None},
        {"away": None},
        {"address": None},
        {"resident": None},
        {"away": 1},
        {"timezone": "Nowhere/Land"},
        {"home_id": "h2"},
        {"resident": {"name": "x", "extra": 1}},
        {"address": TEN_KB},
    ],
)
def test_hostile_patches_are_422_and_change_nothing(shared: ApiRig, body: dict[str, Any]) -> None:
    answer = shared.client.patch("/api/v1/homes/h1", json=body, headers=shared.headers("root"))
    assert answer.status_code == 422, answer.text
    home = shared.context.homes.profile("h1")
    assert home is not None
    assert (home.home.home_id, home.home.lat, home.home.away) == ("h1", 22.52, False)


def test_malformed_json_is_422_not_500(shared: ApiRig) -> None:
    answer = shared.client.post(
        "/api/v1/homes",
        content=b'{"lat": 22, "lon": ',
        headers={**shared.headers("root"), "content-type": "application/json"},
    )
    assert answer.status_code == 422
    nan = shared.client.post(
        "/api/v1/homes",
        content=b'{"lat": NaN, "lon": 113}',
        headers={**shared.headers("root"), "content-type": "application/json"},
    )
    assert nan.status_code == 422
