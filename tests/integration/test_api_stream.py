"""The live alert stream (Server-Sent Events) over a real server: delivery, resumption,
isolation between families, and the queue-overflow catch-up from the database."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from alerts.escalation import EscalationPolicy
from alerts.notifiers.stream import AlertChange, Broadcast
from anxin.settings import Settings
from api.routes import stream
from api.routes.stream import alert_events
from devices.registry import Home
from records.alerts import AlertStore
from records.devices import DeviceRegistry
from tests.integration.api_helpers import (
    Sse,
    detection,
    module_rig,
    next_events,
    open_alert,
    sse_blocks,
)
from tests.integration.api_rig import ApiRig, api_rig

pytestmark = pytest.mark.integration

STREAM = "/api/v1/alerts/stream"


@pytest.fixture
def rig(
    records_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiRig]:
    monkeypatch.setattr(stream, "HEARTBEAT_S", 0.3)
    yield from api_rig(records_engine, Settings(data_dir=tmp_path))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiRig]:
    """One rig for the module's refusal tests (a refused call changes nothing)."""
    yield from module_rig(request, tmp_path_factory)


def opened(blocks: Iterator[Sse]) -> None:
    """Wait for the stream's first block (`retry`): the subscription is live from then on."""
    first = next(blocks)
    assert first.retry is not None


def test_a_dispatcher_receives_each_change_with_an_id(rig: ApiRig) -> None:
    with rig.client.stream("GET", STREAM, headers=rig.headers("ann")) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        blocks = sse_blocks(response)
        opened(blocks)
        alert_id = open_alert(rig, "h1", "sos")
        [event] = next_events(blocks, 1)
        assert next(blocks).comment == "keepalive"  # then a heartbeat while nothing happens
    assert event.event == "alert"
    assert event.id is not None
    assert event.id > 0
    change = event.json()
    assert (change["alert_id"], change["home_id"], change["kind"]) == (alert_id, "h1", "sos")
    assert (change["severity"], change["status"], change["event"]) == (
        "critical",
        "open",
        "opened",
    )


def test_a_reconnect_gets_exactly_what_it_missed(rig: ApiRig) -> None:
    ann = rig.headers("ann")
    with rig.client.stream("GET", STREAM, headers=ann) as response:
        blocks = sse_blocks(response)
        opened(blocks)
        sos = open_alert(rig, "h1", "sos")
        [seen] = next_events(blocks, 1)
    assert seen.id is not None
    # while disconnected: the sos is acknowledged and a leak opens in h2
    assert rig.client.post(f"/api/v1/alerts/{sos}/acknowledge", headers=ann).status_code == 200
    leak = open_alert(rig, "h2", "leak")

    with rig.client.stream(
        "GET", STREAM, headers={**ann, "Last-Event-ID": str(seen.id)}
    ) as response:
        blocks = sse_blocks(response)
        opened(blocks)
        missed = next_events(blocks, 2)
        # and live changes continue after the replay, with nothing sent twice in between
        smoke = open_alert(rig, "h1", "smoke")
        live = next_events(blocks, 1)
    assert [(e.json()["alert_id"], e.json()["status"]) for e in missed] == [
        (sos, "acknowledged"),
        (leak, "open"),
    ]
    assert [e.json()["alert_id"] for e in live] == [smoke]
    ids = [e.id or 0 for e in [seen, *missed, *live]]
    assert ids == sorted(set(ids))  # increasing: none twice

    # EventSource's first connection may name the id in the query instead; the header wins
    with rig.client.stream(
        "GET", STREAM, params={"last_event_id": str(seen.id)}, headers=ann
    ) as response:
        blocks = sse_blocks(response)
        opened(blocks)
        assert [e.id for e in next_events(blocks, 3)] == ids[1:]
    with rig.client.stream(
        "GET",
        STREAM,
        params={"last_event_id": "0"},
        headers={**ann, "Last-Event-ID": str(ids[-2])},
    ) as response:
        blocks = sse_blocks(response)
        opened(blocks)
        assert [e.id for e in next_events(blocks, 1)] == ids[-1:]


def test_a_familys_stream_never_carries_another_homes_alert(rig: ApiRig) -> None:
    with (
        rig.client.stream("GET", STREAM, headers=rig.headers("li")) as li_response,
        rig.client.stream("GET", STREAM, headers=rig.headers("ann")) as ann_response,
    ):
        li_blocks, ann_blocks = sse_blocks(li_response), sse_blocks(ann_response)
        opened(li_blocks)
        opened(ann_blocks)
        h1_sos = open_alert(rig, "h1", "sos")
        h2_leak = open_alert(rig, "h2", "leak")
        assert [e.json()["alert_id"] for e in next_events(ann_blocks, 2)] == [h1_sos, h2_leak]
        # h1's alert went out first: had li's stream carried it, it would come first
        [li_first] = next_events(li_blocks, 1)
    assert (li_first.json()["alert_id"], li_first.json()["home_id"]) == (h2_leak, "h2")
    # nor does its replay from the database
    with rig.client.stream(
        "GET", STREAM, headers={**rig.headers("li"), "Last-Event-ID": "0"}
    ) as response:
        blocks = sse_blocks(response)
        opened(blocks)
        [replayed] = next_events(blocks, 1)
        assert replayed.json()["alert_id"] == h2_leak
        # the replay is over: the next event is a live one, of li's home
        h2_smoke = open_alert(rig, "h2", "smoke")
        open_alert(rig, "h1", "smoke")
        h2_fall = open_alert(rig, "h2", "fall")
        assert [e.json()["alert_id"] for e in next_events(blocks, 2)] == [h2_smoke, h2_fall]


def test_browsers_may_pass_the_access_token_in_the_query(rig: ApiRig) -> None:
    with rig.client.stream("GET", STREAM, params={"access_token": rig.token("mei")}) as response:
        assert response.status_code == 200
        blocks = sse_blocks(response)
        opened(blocks)
        alert_id = open_alert(rig, "h1", "fall")
        assert [e.json()["alert_id"] for e in next_events(blocks, 1)] == [alert_id]
    for token in ("not-a-token", ""):
        refused = rig.client.get(STREAM, params={"access_token": token})
        assert refused.status_code == 401
    # only the stream takes a token from the query
    elsewhere = rig.client.get("/api/v1/alerts", params={"access_token": rig.token("ann")})
    assert elsewhere.status_code == 401


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", str(2**63), "9" * 40])
def test_a_bad_last_event_id_is_422(shared: ApiRig, value: str) -> None:
    answer = shared.client.get(STREAM, headers={**shared.headers("ann"), "Last-Event-ID": value})
    assert answer.status_code == 422


def test_a_closed_stream_lets_go_of_its_subscription(rig: ApiRig) -> None:
    changes = rig.context.changes
    with rig.client.stream("GET", STREAM, headers=rig.headers("ann")) as response:
        blocks = sse_blocks(response)  # (dropping it would close the response)
        opened(blocks)
        assert changes.subscribers == 1
    deadline = datetime.now(UTC).timestamp() + 5
    while changes.subscribers and datetime.now(UTC).timestamp() < deadline:
        open_alert(rig, "h1", "sos")  # a write notices the closed socket soonest
    assert changes.subscribers == 0


# -- the generator itself, with a tiny live queue that overflows ---------------------------


Item = tuple[int, AlertChange]
_ids = itertools.count()


def store_with_homes(engine: Engine) -> AlertStore:
    registry = DeviceRegistry(engine)
    for home_id in ("h1", "h2"):
        registry.add_home(Home(home_id=home_id, lat=22.5, lon=113.4))
    return AlertStore(engine)


def change(store: AlertStore, home_id: str, kind: str) -> Item:
    applied = store.apply(
        detection(home_id, kind),  # type: ignore[arg-type]
        now=datetime.now(UTC),
        new_alert_id=lambda: uuid.uuid4().hex,
        policy=EscalationPolicy(),
    )
    assert applied.stored is not None
    return applied.stored.last_event_id, applied.stored.change


async def test_an_overflowing_queue_is_caught_up_from_the_database(
    records_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "HEARTBEAT_S", 0.05)
    store = store_with_homes(records_engine)
    changes: Broadcast[Item] = Broadcast(maxsize=2)
    events = alert_events(changes, store, home_ids=("h1",), last_event_id=0)
    assert (await anext(events)).startswith(b"retry:")
    assert await anext(events) == b": keepalive\n\n"  # nothing to replay yet

    made = [
        change(store, home, kind)
        for home, kind in [
            ("h1", "sos"),
            ("h2", "sos"),
            ("h1", "fall"),
            ("h1", "leak"),
            ("h1", "smoke"),
        ]
    ]
    for item in made:
        changes.publish(item)  # h1's four overflow a queue of two

    received: list[bytes] = []
    while (chunk := await anext(events)) != b": keepalive\n\n":
        received.append(chunk)
    await events.aclose()
    h1 = [event_id for (event_id, c) in made if c.home_id == "h1"]
    assert [int(chunk.split(b"\n")[0].removeprefix(b"id: ")) for chunk in received] == h1
    assert changes.subscribers == 0


async def test_a_gap_before_anything_was_sent_asks_the_client_to_reload(
    records_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "HEARTBEAT_S", 0.05)
    store = store_with_homes(records_engine)
    changes: Broadcast[Item] = Broadcast(maxsize=1)
    events = alert_events(changes, store, home_ids=None, last_event_id=None)
    await anext(events)
    for kind in ("sos", "fall", "leak"):
        changes.publish(change(store, "h1", kind))
    assert await anext(events) == b'event: reset\ndata: {"lost": 2}\n\n'
    assert (await anext(events)).startswith(b"id: ")  # the one that was kept
    await events.aclose()
