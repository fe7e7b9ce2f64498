"""An in-process API over a real database (SQLite or PostgreSQL) with one account per role.

Homes h1 and h2; `mei` is h1's family and `li` h2's; `ann` a tier-1 dispatcher;
`root` the admin. The app is served by a real uvicorn on a free loopback port
in a background thread and called over HTTP, as clients do.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import uvicorn
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from anxin.alerting import api_context, build_alert_stack
from anxin.settings import Settings
from anxin.testbed.process import free_port
from api.app import create_app
from api.context import ApiContext
from api.health import Readiness
from devices.registry import Home
from gateway.localstore import FILE_NAME, LocalStore
from records.accounts import AccountStore, NewAccount
from records.devices import DeviceRegistry

PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

ACCOUNTS: dict[str, dict[str, object]] = {
    "root": {"role": "admin"},
    "ann": {"role": "dispatcher", "tier": 1},
    "mei": {"role": "family", "home_ids": ("h1",)},
    "li": {"role": "family", "home_ids": ("h2",)},
}


class ApiRig:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        registry = DeviceRegistry(engine)
        for home_id, lat, address in (
            ("h1", 22.52, "1 Xinhua Road, Zhongshan"),
            ("h2", 22.56, "8 Binjiang Road, Zhongshan"),
        ):
            registry.add_home(Home(home_id=home_id, lat=lat, lon=113.39, address=address))
        accounts = AccountStore(engine)
        for username, fields in ACCOUNTS.items():
            accounts.create(
                NewAccount.model_validate(
                    {"username": username, "password": SecretStr(PASSWORD), **fields}
                ),
                now=NOW,
            )
        self.alerting = build_alert_stack(settings, engine, offers=None)
        asyncio.run(self.alerting.dispatching.start())  # loads the (empty) roster
        self.timeseries = LocalStore(settings.data_dir / FILE_NAME)
        self.context: ApiContext = api_context(settings, engine, self.alerting, self.timeseries)
        self.app = create_app(
            readiness=Readiness(),
            metrics=CollectorRegistry(),
            context=self.context,
            max_body_bytes=settings.http.max_body_bytes,
        )
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
            )
        )
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=10)
        self._tokens: dict[str, str] = {}

    def start(self) -> None:
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the API server did not start"
            time.sleep(0.01)

    def stop(self) -> None:
        self.client.close()
        self.server.should_exit = True
        self._thread.join(10)
        asyncio.run(self.timeseries.aclose())

    def token(self, username: str) -> str:
        if username not in self._tokens:
            answer = self.client.post(
                "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            self._tokens[username] = answer.json()["access_token"]
        return self._tokens[username]

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"}


def api_rig(engine: Engine, settings: Settings) -> Iterator[ApiRig]:
    rig = ApiRig(engine, settings)
    rig.start()
    try:
        yield rig
    finally:
        rig.stop()
