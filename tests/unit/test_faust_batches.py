"""The worker judges events in batches: one state write per home per batch, same detections."""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest

from devices.events import Reading
from devices.telemetry import TELEMETRY_ADAPTER
from processors.detection import Detection
from processors.detector import HomeContext
from processors.detectors.fall import DETECTOR as FALL
from processors.detectors.sos import DETECTOR as SOS
from processors.engine import Engine, HomeState
from processors.faust_app import EVENT_ADAPTER, Processor
from processors.rules import HomeRules
from tests.unit.faust_app_rig import delivered, faust_processor

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def event(home_id: str, kind: str, seq: int, data: dict[str, Any], at: datetime) -> bytes:
    reading = Reading(
        home_id=home_id,
        device_id=f"{kind}-1",
        received_at=at,
        telemetry=TELEMETRY_ADAPTER.validate_python(
            {"type": kind, "ts": at.isoformat(), "seq": seq, "data": data}
        ),
    )
    return reading.model_dump_json().encode()


@pytest.fixture
async def processor() -> AsyncIterator[Processor]:
    async with faust_processor(batch_max=10) as made:
        yield made


async def judged(agent: Any, batches: int) -> list[list[Detection]]:
    """Each batch's detections, once `batches` batches have been judged."""
    for _ in range(200):
        if len(agent.results) >= batches:
            break
        await asyncio.sleep(0.01)
    return [agent.results[n] for n in range(len(agent.results))]


async def test_a_batch_writes_each_home_once_and_detects_as_event_by_event(
    processor: Processor,
) -> None:
    values = [
        event("h1", "fall", 1, {"confidence": 0.9}, T0),
        event("h2", "sos", 1, {"action": "press"}, T0),
        event("h1", "sos", 2, {"action": "cancel"}, T0 + timedelta(seconds=10)),
        event("h1", "sos", 3, {"action": "press"}, T0 + timedelta(seconds=20)),
    ]
    writes: Counter[bytes] = Counter()
    store = processor.store

    def counted(key: bytes, state: HomeState) -> None:
        writes[key] += 1
        store(key, state)

    with (
        patch.object(processor.detections, "send", new=AsyncMock(side_effect=delivered)) as send,
        patch.object(processor, "store", side_effect=counted),
    ):
        async with processor.agent.test_context() as agent:
            for value in values:
                await agent.put(value, wait=False)
            batches = await judged(agent, 1)
    assert len(batches) == 1
    one_by_one = Engine((SOS, FALL), lambda home_id: HomeContext(rules=HomeRules(home_id=home_id)))
    wanted = one_by_one.step_all([EVENT_ADAPTER.validate_json(value) for value in values])
    assert batches[0] == wanted
    assert ("h1", "fall", "cancel") in [(d.home_id, d.kind, d.action) for d in wanted]
    assert writes == {b"h1": 1, b"h2": 1}
    assert send.await_count == len(wanted)
    assert processor.state("h1").watermark == T0 + timedelta(seconds=20)


async def test_an_event_taken_before_a_rebalance_is_left_to_its_new_owner(
    processor: Processor,
) -> None:
    generation = processor.app.consumer_generation_id

    def taken(value: bytes, generation_id: int) -> Any:
        return SimpleNamespace(value=value, message=SimpleNamespace(generation_id=generation_id))

    batch = [
        taken(event("h1", "sos", 1, {"action": "press"}, T0), generation - 1),
        taken(event("h2", "sos", 1, {"action": "press"}, T0), generation),
    ]
    with patch.object(processor.detections, "send", new=AsyncMock(side_effect=delivered)) as send:
        found = await processor.judge(batch)
    assert [d.home_id for d in found] == ["h2"]
    assert send.await_count == 1
    assert processor.table.get(b"h1") is None


class TestTickedStates:
    """A tick's state without a detection is kept in memory over the table's value."""

    def test_a_kept_state_is_what_the_next_event_sees_without_a_table_write(
        self, processor: Processor
    ) -> None:
        written = HomeState()
        processor.store(b"h1", written)
        raw = processor.table.get(b"h1")
        ticked = written.model_copy(update={"watermark": T0})
        processor.keep(b"h1", ticked)
        assert processor.table.get(b"h1") is raw
        assert processor.load(b"h1") is ticked

    def test_a_value_restored_from_the_changelog_replaces_what_was_kept(
        self, processor: Processor
    ) -> None:
        processor.store(b"h1", HomeState())
        processor.keep(b"h1", HomeState(watermark=T0))
        restored = HomeState(watermark=T0 + timedelta(hours=1))
        processor.table.data[b"h1"] = restored.model_dump_json().encode()
        assert processor.load(b"h1").watermark == restored.watermark

    def test_keeping_a_home_the_table_has_never_seen_writes_it(self, processor: Processor) -> None:
        assert processor.unwritten_for(b"h9") == math.inf
        processor.keep(b"h9", HomeState(watermark=T0))
        assert processor.table.get(b"h9") is not None
        assert processor.unwritten_for(b"h9") < 5


async def test_states_are_written_only_once_the_broker_has_the_detections(
    processor: Processor,
) -> None:
    """Written first, a crash before the detections are out would restore a state in which
    the alert is already open: judged again, the event would raise nothing."""
    on_broker: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def send(*args: Any, **kwargs: Any) -> asyncio.Future[None]:
        return on_broker

    taken: Any = SimpleNamespace(
        value=event("h1", "sos", 1, {"action": "press"}, T0),
        message=SimpleNamespace(generation_id=processor.app.consumer_generation_id),
    )
    with patch.object(processor.detections, "send", new=send):
        judging = asyncio.ensure_future(processor.judge([taken]))
        await asyncio.sleep(0.05)
        assert not judging.done()
        assert processor.table.get(b"h1") is None
        on_broker.set_result(None)
        found = await judging
    assert [(d.kind, d.action) for d in found] == [("sos", "open")]
    assert processor.table.get(b"h1") is not None
