"""The dispatch service's picture of the workforce: a snapshot of every worker and the
spatial index over it, always changed together.

Matching reads memory only (`alerts.matching.match` takes ~1 ms at city scale); the
records stay the truth. The service updates one worker whenever it changes them
(added, moved, on or off shift, a job taken or finished, rated) and reloads the whole
picture now and then, which catches changes made by other processes. A stale picture
may propose a worker whose state moved on; `match` judges each on the snapshot, and
the snapshot is refreshed from the records on every change this process makes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from alerts.matching import Job, MatchRules, match
from alerts.spatial import WorkerIndex
from alerts.workers import Worker


class Roster:
    """Not thread-safe: owned by one service on one event loop."""

    def __init__(self) -> None:
        self.index = WorkerIndex()
        self.workers: dict[str, Worker] = {}

    def __len__(self) -> int:
        return len(self.workers)

    def replace(self, workers: Iterable[Worker]) -> None:
        """Start again from a full load of the records."""
        index = WorkerIndex()
        snapshot: dict[str, Worker] = {}
        for worker in workers:
            index.upsert_worker(worker)
            snapshot[worker.worker_id] = worker
        self.index, self.workers = index, snapshot

    def remember(self, worker: Worker) -> None:
        """One worker as the records now have them."""
        self.workers[worker.worker_id] = worker
        self.index.upsert_worker(worker)

    def forget(self, worker_id: str) -> None:
        self.workers.pop(worker_id, None)
        self.index.remove(worker_id)

    def ranked(
        self,
        job: Job,
        rules: MatchRules,
        *,
        exclude: Collection[str] = frozenset(),
        history: Collection[str] = frozenset(),
    ) -> list[str]:
        """The eligible workers' ids for `job`, best first (see `alerts.matching`)."""
        found = match(job, self.index, self.workers, rules, exclude=exclude, history=history)
        return [candidate.worker_id for candidate in found]
