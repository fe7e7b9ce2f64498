"""Logging in, tokens and the closed-by-default HTTP edge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from anxin.settings import Settings
from tests.integration.api_rig import PASSWORD, ApiRig, api_rig

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(records_engine: Engine, tmp_path: Path) -> Iterator[ApiRig]:
    yield from api_rig(records_engine, Settings(data_dir=tmp_path))


def login(rig: ApiRig, username: str, password: str) -> int:
    answer = rig.client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    return int(answer.status_code)


def test_the_password_flow_issues_tokens_that_open_the_api(rig: ApiRig) -> None:
    answer = rig.client.post("/api/v1/auth/token", data={"username": "ann", "password": PASSWORD})
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["role"] == "dispatcher"
    assert 0 < body["expires_in"] <= 15 * 60
    refreshed = rig.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"]
    # a refresh token is not an access token, nor the other way round
    access = rig.client.post(
        "/api/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["access_token"]},
    )
    assert access.status_code == 401


@pytest.mark.parametrize(
    ("username", "password"), [("ann", "wrong password"), ("nobody", PASSWORD), ("", "")]
)
def test_a_wrong_login_is_refused_the_same_way(rig: ApiRig, username: str, password: str) -> None:
    answer = rig.client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert answer.status_code == 401
    assert answer.json() == {"detail": "wrong username or password"}


def test_guessing_passwords_is_slowed_down(rig: ApiRig) -> None:
    codes = [login(rig, "ann", f"guess-{n}") for n in range(12)]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    assert login(rig, "ann", PASSWORD) == 429  # the right one waits too


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJyb290Iiwicm9sZSI6ImFkbWluIn0.",  # alg none
    ],
)
def test_bad_tokens_get_401(rig: ApiRig, token: str) -> None:
    answer = rig.client.get(
        "/api/v1/alerts", headers={"Authorization": f"Bearer {token}"} if token else {}
    )
    assert answer.status_code in (401, 404)  # 404 until the alerts routes exist
    if answer.status_code == 401:
        assert answer.headers["www-authenticate"] == "Bearer"


def test_every_answer_carries_security_headers(rig: ApiRig) -> None:
    answer = rig.client.get("/healthz")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    token = rig.client.post("/api/v1/auth/token", data={"username": "x", "password": "y"})
    assert token.headers["cache-control"] == "no-store"


def test_cors_is_off_unless_configured(rig: ApiRig) -> None:
    answer = rig.client.options(
        "/api/v1/auth/token",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in answer.headers


def test_an_oversized_body_is_refused_before_it_is_read(rig: ApiRig) -> None:
    answer = rig.client.post(
        "/api/v1/auth/token",
        content=b"username=" + b"a" * (2 << 20),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"a" * 65536

    streamed = rig.client.post(
        "/api/v1/auth/token",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413
