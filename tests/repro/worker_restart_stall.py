"""Reproduces the open `anxin worker` restart stall on Tansu (see README, Known limits).

Not a test: it fails about 2 runs in 7, and CI must not be flaky. Once the stall
is fixed, this scenario becomes `tests/integration/test_worker.py`'s kill test.
Run: `python -m tests.repro.worker_restart_stall [runs]`. Each run starts Tansu
and `anxin worker`, publishes sos/fall/leak for 20 homes, waits until they are
committed, kills the worker with SIGKILL, publishes 20 more homes and every
home's sos cancel, restarts the worker after the dead member's session has
expired, and checks that every detection the pure engine finds arrives and that
all 40 falls are cancelled (the first 20 only through the restored table).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from anxin.testbed.tansu import Tansu
from processors.detection import Detection
from tests.integration.test_worker import (
    DETECTIONS,
    SESSION_TIMEOUT_S,
    Worker,
    cancels,
    collect_until,
    create_topics,
    expected,
    publish,
    scenario,
    until_committed,
)


async def one_run(workdir: Path) -> list[str]:
    """The detections missing after the restart, as 'home kind action' (empty: no stall)."""
    tansu = Tansu(workdir)
    tansu.start()
    worker = Worker(workdir, tansu.bootstrap)
    try:
        await create_topics(tansu.bootstrap)
        start = datetime.now(UTC).replace(microsecond=0)
        before_kill = scenario(start, range(0, 20))
        after_kill = scenario(start, range(20, 40)) + cancels(start, range(0, 40))
        wanted = expected(before_kill + after_kill)
        producer = AIOKafkaProducer(bootstrap_servers=tansu.bootstrap, linger_ms=0)
        consumer = AIOKafkaConsumer(
            DETECTIONS, bootstrap_servers=tansu.bootstrap, auto_offset_reset="earliest"
        )
        await producer.start()
        await consumer.start()
        received: list[Detection] = []
        try:
            worker.start()
            await publish(producer, before_kill)
            first = {d.detection_id for d in expected(before_kill)}
            await collect_until(consumer, received, first, timeout_s=30)
            await until_committed(tansu.bootstrap, len(before_kill), 15)
            worker.kill()
            await publish(producer, after_kill)
            await asyncio.sleep(SESSION_TIMEOUT_S + 1)
            worker.start()
            await collect_until(consumer, received, {d.detection_id for d in wanted}, timeout_s=40)
        finally:
            await consumer.stop()
            await producer.stop()
        got = {d.detection_id for d in received}
        return [f"{d.home_id} {d.kind} {d.action}" for d in wanted if d.detection_id not in got]
    finally:
        worker.stop()
        tansu.stop()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for run in range(1, runs + 1):
        workdir = tempfile.mkdtemp(prefix="anxin-worker-stall-")
        missing = asyncio.run(one_run(Path(workdir)))
        verdict = "ok" if not missing else f"STALLED: {len(missing)} missing, e.g. {missing[:3]}"
        print(f"run {run}: {verdict} (worker logs kept in {workdir})", flush=True)


if __name__ == "__main__":
    main()
