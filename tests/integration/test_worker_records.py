"""Care workers in the records, on SQLite and a real PostgreSQL: one person one code, a
login made with the worker or not at all, ratings that all count, load from the jobs."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from alerts.dispatches import accept, new_dispatch, offer
from devices.registry import Home
from records.accounts import AccountStore
from records.devices import DeviceRegistry
from records.dispatches import DispatchStore
from records.workers import NewWorker, WorkerError, WorkerNotFound, WorkerStore

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def new(worker_id: str | None = "w1", code: str = "AX-0001", **extra: object) -> NewWorker:
    fields: dict[str, object] = {
        "worker_id": worker_id,
        "name": "Li Na",
        "skills": ["medical", "wellbeing"],
        "credential_code": code,
        "credential_expires": date(2027, 1, 31),
        "lat": 22.52,
        "lon": 113.39,
        "on_shift": True,
    }
    return NewWorker.model_validate({**fields, **extra})


def test_a_worker_with_a_login(records_engine: Engine) -> None:
    store = WorkerStore(records_engine)
    worker = store.add(new(username="lina", password="password1"), now=NOW)
    assert worker.worker_id == "w1"
    account = AccountStore(records_engine).authenticate("lina", "password1")
    assert account is not None
    assert (account.role, account.worker_id) == ("worker", "w1")
    assert store.get("w1") == worker


def test_ids_are_generated_when_absent(records_engine: Engine) -> None:
    worker = WorkerStore(records_engine).add(new(None), now=NOW)
    assert worker.worker_id.startswith("w-")


def test_one_person_one_code(records_engine: Engine) -> None:
    store = WorkerStore(records_engine)
    store.add(new(), now=NOW)
    with pytest.raises(WorkerError, match="credential code"):
        store.add(new("w2", code="AX-0001"), now=NOW)
    with pytest.raises(WorkerError, match="already exists"):
        store.add(new("w1", code="AX-0002"), now=NOW)
    assert [w.worker_id for w in store.all()] == ["w1"]


def test_a_taken_username_adds_no_worker(records_engine: Engine) -> None:
    store = WorkerStore(records_engine)
    store.add(new(username="lina", password="password1"), now=NOW)
    with pytest.raises(WorkerError, match="taken"):
        store.add(new("w2", code="AX-0002", username="lina", password="password2"), now=NOW)
    assert store.get("w2") is None


@pytest.mark.parametrize(
    "extra",
    [
        {"username": "lina"},
        {"skills": []},
        {"credential_code": "no"},
        {"lat": 91},
        {"skills": ["surgery"]},
    ],
)
def test_a_bad_worker_is_refused_before_the_records(extra: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        new("w1", "AX-0001", **extra)


def test_location_and_shift(records_engine: Engine) -> None:
    store = WorkerStore(records_engine)
    store.add(new(), now=NOW)
    assert store.move("w1", 22.6, 113.5).lat == 22.6
    assert not store.set_shift("w1", False).on_shift
    worker = store.get("w1")
    assert worker is not None
    assert (worker.lat, worker.lon, worker.on_shift) == (22.6, 113.5, False)
    with pytest.raises(ValidationError):
        store.move("w1", 95, 0)
    with pytest.raises(WorkerNotFound):
        store.set_shift("nobody", True)


async def test_concurrent_ratings_all_count(records_engine: Engine) -> None:
    store = WorkerStore(records_engine)
    store.add(new(), now=NOW)
    stars = [5, 4, 3, 5, 1, 2, 5, 4, 4, 3]
    await asyncio.gather(*(asyncio.to_thread(store.rate, "w1", s) for s in stars))
    worker = store.get("w1")
    assert worker is not None
    assert worker.rating_count == len(stars)
    assert worker.rating == pytest.approx(sum(stars) / len(stars))


def test_load_is_counted_from_the_jobs_held(records_engine: Engine) -> None:
    DeviceRegistry(records_engine).add_home(Home(home_id="h1", lat=22.52, lon=113.39))
    store = WorkerStore(records_engine)
    store.add(new(), now=NOW)
    dispatches = DispatchStore(records_engine)
    for n in range(3):
        job = new_dispatch(
            dispatch_id=f"d{n}",
            home_id="h1",
            lat=22.52,
            lon=113.39,
            service="medical",
            severity="high",
            origin="dispatcher",
            now=NOW,
        )
        job = offer(job, "w1", now=NOW, deadline=datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
        dispatches.create(job if n == 0 else accept(job, "w1", now=NOW), actor="test")
    assert store.active_jobs() == {"w1": 2}
    worker = store.get("w1")
    assert worker is not None
    assert worker.active_jobs == 2


def test_verify_shows_only_the_public_view(records_engine: Engine) -> None:
    store = WorkerStore(records_engine)
    store.add(new(), now=NOW)
    seen = store.verify("AX-0001", today=date(2027, 1, 31))
    assert seen is not None
    assert seen.credential_valid
    assert set(seen.model_dump()) == {
        "name",
        "skills",
        "credential_valid",
        "rating",
        "rating_count",
    }
    lapsed = store.verify("AX-0001", today=date(2027, 2, 1))
    assert lapsed is not None
    assert not lapsed.credential_valid
    assert store.verify("AX-9999", today=date(2027, 1, 1)) is None
    assert store.verify("x" * 500, today=date(2027, 1, 1)) is None
