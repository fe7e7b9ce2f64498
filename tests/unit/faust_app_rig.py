"""A Faust processor for agent tests: sos and fall detectors, no broker, no loop left open."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from processors.detectors.fall import DETECTOR as FALL
from processors.detectors.sos import DETECTOR as SOS
from processors.faust_app import Processor, create_app
from processors.homes import HomeDirectory


def delivered(*args: Any, **kwargs: Any) -> asyncio.Future[None]:
    """What `send` returns once the broker has the record."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done


@contextlib.asynccontextmanager
async def faust_processor(**options: Any) -> AsyncIterator[Processor]:
    processor = create_app(
        bootstrap="127.0.0.1:9",
        detectors=(SOS, FALL),
        directory=HomeDirectory(),
        app_id="anxin-test",
        **options,
    )
    processor.app.finalize()
    processor.app.flow_control.resume()
    yield processor
    # The consumer made a loop for its thread, which a test never starts: close it.
    consumer = processor.app._consumer
    if consumer is not None:
        consumer._thread.thread_loop.close()  # type: ignore[attr-defined]
