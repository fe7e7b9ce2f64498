"""The worker's two fixes to faust's restart path, pinned without a broker.

The end-to-end proof is `tests/integration/test_worker.py`'s kill test; these pin the
order and the copy it rests on, which a faust upgrade or a refactor could undo.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine
from typing import Any, cast
from unittest.mock import AsyncMock, MagicMock, patch

import pytest
from faust.transport.consumer import ThreadDelegateConsumer
from faust.types import TP

from processors.faust_app import (
    ActiveSnapshotConsumer,
    KafkaTransport,
    Processor,
    SeekFirstRecovery,
    SeekFirstTableManager,
    create_app,
)
from processors.homes import HomeDirectory

TELEMETRY = TP("anxin.telemetry", 0)
CHANGELOG = TP("anxin-test-home-state-changelog", 0)


@pytest.fixture
async def processor() -> AsyncIterator[Processor]:
    processor = create_app(
        bootstrap="127.0.0.1:9", detectors=(), directory=HomeDirectory(), app_id="anxin-test"
    )
    yield processor
    consumer = processor.app._consumer
    if consumer is not None:
        consumer._thread.thread_loop.close()  # type: ignore[attr-defined]


def test_the_worker_runs_on_the_fixed_transport_and_recovery(processor: Processor) -> None:
    assert isinstance(processor.app.transport, KafkaTransport)
    assert isinstance(processor.app.consumer, ActiveSnapshotConsumer)
    assert isinstance(cast(SeekFirstTableManager, processor.app.tables).recovery, SeekFirstRecovery)


async def test_stream_partitions_resume_only_after_the_seek(processor: Processor) -> None:
    """Resumed first, they would hand the streams prefetched records that the seek and
    `flow_control.resume()` (which empties the stream queues) then lose."""
    app = processor.app
    assert processor.table.changelog_topic.get_topic_name() == CHANGELOG.topic
    recovery = cast(SeekFirstTableManager, app.tables).recovery
    calls = MagicMock()
    consumer = MagicMock()
    consumer.assignment.return_value = {TELEMETRY, CHANGELOG}
    consumer.perform_seek = AsyncMock(side_effect=lambda: calls.perform_seek())
    consumer.resume_partitions.side_effect = lambda tps: calls.resume_partitions(tps)
    consumer.resume_flow.side_effect = lambda: calls.resume_flow()

    async def wait(coro: Coroutine[Any, Any, None], timeout: float | None = None) -> None:  # noqa: ASYNC109
        await coro

    app._consumer = consumer
    with (
        patch.object(recovery, "_wait", new=wait),
        patch.object(app.flow_control, "resume", side_effect=lambda: calls.flow_resume()),
        patch.object(app._fetcher, "maybe_start", new=AsyncMock()),
        patch.object(app.on_rebalance_complete, "send", new=AsyncMock()),
        patch.object(processor.table, "on_recovery_completed", new=AsyncMock()),
        patch.object(app, "on_rebalance_end"),
    ):
        await recovery.on_recovery_completed(app.consumer_generation_id)
    app._consumer = None
    assert [name for name, _, _ in calls.mock_calls] == [
        "perform_seek",
        "resume_partitions",
        "flow_resume",
        "resume_flow",
    ]
    assert calls.resume_partitions.call_args.args == ({TELEMETRY},)
    assert recovery.completed.is_set()


async def test_a_fetch_asks_for_a_copy_of_the_active_partitions(processor: Processor) -> None:
    """faust's live set can empty while the fetch waits, and aiokafka reads an empty set
    as every partition."""
    asked: list[set[TP] | None] = []

    async def fetch(self: Any, active_partitions: set[TP] | None, timeout: float) -> Any:  # noqa: ASYNC109
        asked.append(active_partitions)
        return {}

    live = {CHANGELOG}
    consumer = cast(ActiveSnapshotConsumer, processor.app.consumer)
    with patch.object(ThreadDelegateConsumer, "_getmany", new=fetch):
        await consumer._getmany(live, 1.0)
        await consumer._getmany(None, 1.0)
    assert asked == [{CHANGELOG}, None]
    assert asked[0] is not live
