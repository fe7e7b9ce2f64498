"""What the API tests do to the world behind the API: readings, detections, event streams.

Detections go through the rig's alert service on the server's own event loop
(the live stream's queues belong to it), readings straight into its time-series
store; streams are read over HTTP as a browser's EventSource would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

from anxin.settings import Settings
from anxin.testbed.postgres import PostgreSQL
from devices.events import Reading
from devices.telemetry import TELEMETRY_ADAPTER
from gateway.points import to_line
from processors.detection import TRIAGE, AlertKind, Detection, Evidence
from records.database import migrate, open_engine
from tests.integration.api_rig import ApiRig, api_rig

T = TypeVar("T")

_databases = itertools.count()


def module_rig(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiRig]:
    """One rig for a whole module, on the database `request.param` names (sqlite or
    postgresql): for tests whose calls change nothing another test looks at (refusals)."""
    tmp = tmp_path_factory.mktemp("api")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'anxin.db'}"
    else:
        server: PostgreSQL = request.getfixturevalue("postgres")
        url = server.create_database(f"anxin_module_{next(_databases)}")
    engine = open_engine(url)
    migrate(engine)
    try:
        yield from api_rig(engine, Settings(data_dir=tmp))
    finally:
        engine.dispose()


def on_server(rig: ApiRig, coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` on the API server's event loop and wait for it."""
    loop = rig.server.servers[0].get_loop()
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=20)


def detection(
    home_id: str, kind: AlertKind, *, device_id: str = "d1", details: dict[str, Any] | None = None
) -> Detection:
    severity, service = TRIAGE[kind]
    now = datetime.now(UTC)
    return Detection(
        detection_id=uuid.uuid4().hex,
        home_id=home_id,
        kind=kind,
        severity=severity,
        service=service,
        at=now,
        summary=f"{kind} in {home_id}",
        evidence=(Evidence(device_id=device_id, type="sos", ts=now, seq=1),),
        details=details or {},
    )


def open_alert(rig: ApiRig, home_id: str, kind: AlertKind, **extra: Any) -> str:
    """Open (or add to) the home's alert of `kind` through the alert service; its id."""
    on_server(rig, rig.context.alert_service.send([detection(home_id, kind, **extra)]))
    [alert] = [a for a in rig.context.alerts.active_for_home(home_id) if a.kind == kind]
    return alert.alert_id


def reading_line(
    home_id: str,
    device_id: str,
    kind: str,
    data: dict[str, Any],
    *,
    at: datetime,
    seq: int,
    room: str | None = None,
) -> str:
    telemetry = TELEMETRY_ADAPTER.validate_python(
        {"type": kind, "ts": at.isoformat(), "seq": seq, "data": data}
    )
    return to_line(
        Reading(
            home_id=home_id, device_id=device_id, room=room, received_at=at, telemetry=telemetry
        )
    )


def store_lines(rig: ApiRig, lines: list[str]) -> None:
    asyncio.run(rig.timeseries.write(lines))


@dataclass(frozen=True)
class Sse:
    """One block of an event stream: an event, a comment or a bare `retry`."""

    id: int | None = None
    event: str | None = None
    data: str | None = None
    comment: str | None = None
    retry: int | None = None

    def json(self) -> dict[str, Any]:
        assert self.data is not None
        decoded: dict[str, Any] = json.loads(self.data)
        return decoded


def sse_blocks(response: httpx.Response) -> Iterator[Sse]:
    """The blocks of an event stream, as they arrive."""
    fields: dict[str, str] = {}
    for line in response.iter_lines():
        if line == "":
            if fields:
                yield Sse(
                    id=int(fields["id"]) if "id" in fields else None,
                    event=fields.get("event"),
                    data=fields.get("data"),
                    comment=fields.get("comment"),
                    retry=int(fields["retry"]) if "retry" in fields else None,
                )
            fields = {}
        elif line.startswith(":"):
            fields["comment"] = line[1:].strip()
        else:
            name, _, value = line.partition(":")
            assert name not in fields or name == "comment", f"{name} twice in one block"
            fields[name] = value.removeprefix(" ")


def next_events(blocks: Iterator[Sse], count: int) -> list[Sse]:
    """The next `count` events, past any keep-alives. Events arrive in order, so what
    did not come before an expected event was not sent before it."""
    out: list[Sse] = []
    for block in blocks:
        if block.event is not None:
            out.append(block)
            if len(out) == count:
                return out
    raise AssertionError(f"the stream ended after {len(out)} of {count} events")
