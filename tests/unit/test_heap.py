"""The heap keeper: what survives is frozen out of later collections, and the hourly full
collection still reclaims a cycle that died after it was frozen."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref
from collections.abc import Iterator

import pytest

from anxin.heap import full_collection, keep_heap_settled


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture(autouse=True)
def thawed_heap() -> Iterator[None]:
    yield
    gc.unfreeze()


def cycle() -> tuple[Node, weakref.ref[Node]]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a, weakref.ref(a)


async def run_keeper(*, full_every_s: float) -> None:
    keeper = asyncio.create_task(keep_heap_settled(every_s=0.01, full_every_s=full_every_s))
    await asyncio.sleep(0.1)
    keeper.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await keeper


def test_survivors_are_frozen_and_young_cycles_still_reclaimed() -> None:
    gc.unfreeze()
    kept = [Node() for _ in range(1000)]
    dead, dead_ref = cycle()
    del dead
    asyncio.run(run_keeper(full_every_s=3600))
    assert dead_ref() is None  # a cycle that died young is not frozen
    assert not any(tracked is kept for tracked in gc.get_objects())  # out of every walk


def test_a_cycle_that_dies_after_it_was_frozen_waits_for_the_full_collection() -> None:
    node, ref = cycle()
    gc.freeze()
    del node
    gc.collect()
    assert ref() is not None  # frozen: no ordinary collection reaches it
    asyncio.run(run_keeper(full_every_s=0))
    assert ref() is None
    assert gc.get_freeze_count() > 0  # the survivors are frozen again


def test_a_full_collection_reports_what_it_found() -> None:
    node, ref = cycle()
    gc.freeze()
    del node
    assert full_collection() >= 2
    assert ref() is None
