"""Property, through the whole service on SQLite and PostgreSQL: over random small cities,
a dispatch is offered to every eligible worker in turn and never to an ineligible one
(wrong skill, credential expired on the service date, off shift, beyond the radius, or
at the workload cap), and lands in the queue only when nobody eligible is left."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from alerts.dispatches import accept, new_dispatch, offer
from alerts.matching import Job, MatchRules, eligible
from processors.detection import Service
from records.schema import Base
from tests.integration.dispatch_rig import HOME, T0, Clock, Rig

pytestmark = pytest.mark.integration

SERVICES: tuple[Service, ...] = ("medical", "housekeeping", "meal", "wellbeing", "technical")
RULES = MatchRules(radius_m=3000, max_active_jobs=2)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@st.composite
def cities(draw: st.DrawFn) -> dict[str, object]:
    """A home at HOME, up to 10 workers around it, a job, and how each offer is answered."""
    workers = []
    for i in range(draw(st.integers(0, 10))):
        workers.append(
            {
                "worker_id": f"w{i}",
                "north": draw(st.floats(-4500, 4500)),
                "east": draw(st.floats(-4500, 4500)),
                "skills": sorted(draw(st.sets(st.sampled_from(SERVICES), min_size=1))),
                "expires_in_days": draw(st.integers(-2, 3)),
                "on_shift": draw(st.booleans()),
                "load": draw(st.integers(0, 3)),
            }
        )
    return {
        "workers": workers,
        "service": draw(st.sampled_from(SERVICES)),
        "severity": draw(st.sampled_from(["critical", "high", "medium"])),
        "days_ahead": draw(st.integers(0, 2)),
        "answers": draw(st.lists(st.sampled_from(["decline", "expire"]), min_size=12, max_size=12)),
    }


def wipe(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())


async def scenario(engine: Engine, city: dict[str, object]) -> None:
    rig = Rig(engine, rules=RULES, clock=Clock(T0))
    try:
        await run(rig, city)
    finally:
        await rig.close()


async def run(rig: Rig, city: dict[str, object]) -> None:
    today = T0.astimezone(SHANGHAI).date()
    specs = city["workers"]
    assert isinstance(specs, list)
    for spec in specs:
        await rig.add_worker(
            spec["worker_id"],
            spec["north"],
            spec["east"],
            skills=tuple(spec["skills"]),
            on_shift=spec["on_shift"],
            expires=today + timedelta(days=spec["expires_in_days"]),
        )
        for n in range(spec["load"]):  # jobs already in hand elsewhere
            held = new_dispatch(
                dispatch_id=f"held-{spec['worker_id']}-{n}",
                home_id="h1",
                lat=HOME[0],
                lon=HOME[1],
                service=spec["skills"][0],
                severity="low",
                origin="dispatcher",
                now=T0,
            )
            held = offer(held, spec["worker_id"], now=T0, deadline=T0 + timedelta(minutes=5))
            rig.dispatches.create(accept(held, spec["worker_id"], now=T0), actor="test")
    await rig.service.start()
    before = {w.worker_id: w for w in rig.workers.all()}

    service = city["service"]
    severity = city["severity"]
    days_ahead = city["days_ahead"]
    assert isinstance(days_ahead, int)
    when = T0 + timedelta(days=days_ahead)
    dispatch = await rig.service.create(
        "h1",
        service,  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        scheduled_for=when,
        actor="dispatcher:ann",
    )
    job = Job(
        home_id="h1",
        lat=HOME[0],
        lon=HOME[1],
        service=dispatch.service,
        service_date=when.astimezone(SHANGHAI).date(),
    )
    answers = city["answers"]
    assert isinstance(answers, list)
    for answer in answers:
        if dispatch.status != "offered" or dispatch.worker_id is None:
            break
        if answer == "decline":
            dispatch = await rig.service.decline(dispatch.dispatch_id, dispatch.worker_id, "busy")
        else:
            offered = dispatch.current_offer
            assert offered is not None
            rig.clock.now = offered.deadline
            await rig.service.run_due()
            dispatch = await rig.service.get(dispatch.dispatch_id)

    offered_to = [o.worker_id for o in dispatch.offers]
    allowed = {w for w, worker in before.items() if not eligible(worker, job, RULES)}
    assert len(offered_to) == len(set(offered_to)), "nobody is asked twice"
    for worker_id in offered_to:
        assert worker_id in allowed, (worker_id, eligible(before[worker_id], job, RULES))
    if dispatch.status == "queued":
        assert set(offered_to) == allowed, "queued while an eligible worker was never asked"
    else:
        assert dispatch.status == "offered"
        assert len(offered_to) == len(answers) + 1


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(city=cities())
def test_offers_go_only_to_eligible_workers_and_all_of_them(
    records_engine: Engine, city: dict[str, object]
) -> None:
    wipe(records_engine)
    asyncio.run(scenario(records_engine, city))
