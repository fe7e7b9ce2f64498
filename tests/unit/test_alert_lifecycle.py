"""The alert lifecycle: what each detection and each person's action does, case by case."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from alerts.escalation import EscalationPolicy
from alerts.lifecycle import (
    EVIDENCE_FIRST,
    EVIDENCE_LATEST,
    acknowledge,
    cancel_by_dispatcher,
    mark_dispatched,
    merge_evidence,
    on_detection,
    resolve,
)
from alerts.model import Alert, IllegalTransition, appended
from processors.detection import Action, Detection, Evidence, Severity

HOME = "home-1"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = EscalationPolicy()
DISPATCHER = "dispatcher:alice"


def evidence(seconds: float, device: str = "radar-1", seq: int | None = None) -> Evidence:
    return Evidence(
        device_id=device,
        type="fall",
        ts=T0 + timedelta(seconds=seconds),
        seq=int(seconds) if seq is None else seq,
        values={"confidence": 0.9},
    )


def detection(
    detection_id: str = "d1",
    action: Action = "open",
    *,
    kind: str = "fall",
    severity: Severity = "critical",
    seconds: float = 0,
    evidence_items: tuple[Evidence, ...] | None = None,
    summary: str = "fall detected",
) -> Detection:
    return Detection.model_validate(
        {
            "detection_id": detection_id,
            "home_id": HOME,
            "kind": kind,
            "action": action,
            "severity": severity,
            "service": "medical",
            "at": T0 + timedelta(seconds=seconds),
            "summary": summary,
            "evidence": (evidence(seconds),) if evidence_items is None else evidence_items,
        }
    )


def opened(severity: Severity = "critical", kind: str = "fall") -> Alert:
    decision = on_detection(
        None,
        detection(severity=severity, kind=kind),
        now=T0,
        new_alert_id="a1",
        policy=POLICY,
    )
    assert decision.alert is not None
    return decision.alert


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class TestOpen:
    def test_a_detection_with_no_active_alert_opens_one(self) -> None:
        decision = on_detection(None, detection(), now=T0, new_alert_id="a1", policy=POLICY)
        alert = decision.alert
        assert decision.outcome == "opened"
        assert alert is not None
        assert (alert.alert_id, alert.home_id, alert.kind, alert.status) == (
            "a1",
            HOME,
            "fall",
            "open",
        )
        assert alert.evidence == (evidence(0),)
        assert [(t.event, t.actor, t.detection_id) for t in alert.history] == [
            ("opened", "detector:fall", "d1")
        ]
        assert decision.records == alert.history
        assert decision.processed

    @pytest.mark.parametrize(
        ("severity", "deadline"),
        [
            ("critical", timedelta(seconds=60)),
            ("high", timedelta(minutes=5)),
            ("medium", timedelta(minutes=30)),
            ("low", timedelta(hours=24)),
        ],
    )
    def test_the_acknowledgement_deadline_follows_severity(
        self, severity: Severity, deadline: timedelta
    ) -> None:
        alert = opened(severity)
        assert alert.ack_deadline == T0 + deadline
        assert alert.next_escalation_at == T0 + deadline

    def test_an_invalid_new_alert_id_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            on_detection(None, detection(), now=T0, new_alert_id="a/1", policy=POLICY)

    def test_a_malformed_detection_id_is_rejected_not_stored(self) -> None:
        decision = on_detection(
            None, detection("bad id!"), now=T0, new_alert_id="a1", policy=POLICY
        )
        assert (decision.outcome, decision.alert, decision.processed) == ("rejected", None, False)

    def test_a_detection_time_without_offset_is_rejected(self) -> None:
        naive = detection().model_copy(update={"at": T0.replace(tzinfo=None)})
        decision = on_detection(None, naive, now=T0, new_alert_id="a1", policy=POLICY)
        assert (decision.outcome, decision.alert) == ("rejected", None)

    def test_a_naive_clock_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            on_detection(
                None, detection(), now=T0.replace(tzinfo=None), new_alert_id="a1", policy=POLICY
            )


class TestMerge:
    def test_a_repeat_adds_evidence_to_the_active_alert(self) -> None:
        alert = opened()
        decision = on_detection(
            alert,
            detection("d2", seconds=30, summary="fall again"),
            now=at(30),
            new_alert_id="a2",
            policy=POLICY,
        )
        merged = decision.alert
        assert decision.outcome == "merged"
        assert merged is not None
        assert merged.alert_id == "a1"
        assert merged.evidence == (evidence(0), evidence(30))
        assert merged.summary == "fall again"
        assert [t.event for t in decision.records] == ["evidence_added"]
        assert decision.records == appended(alert, merged)

    @pytest.mark.parametrize("status_after", ["acknowledged", "dispatched"])
    def test_a_repeat_merges_into_an_acknowledged_or_dispatched_alert_too(
        self, status_after: str
    ) -> None:
        alert = acknowledge(opened(), actor=DISPATCHER, now=at(5))
        if status_after == "dispatched":
            alert = mark_dispatched(alert, actor=DISPATCHER, now=at(6))
        decision = on_detection(
            alert, detection("d2", seconds=30), now=at(30), new_alert_id="a2", policy=POLICY
        )
        assert decision.outcome == "merged"
        assert decision.alert is not None
        assert decision.alert.status == status_after

    def test_the_same_reading_is_not_added_twice(self) -> None:
        alert = opened()
        decision = on_detection(
            alert, detection("d2", seconds=0), now=at(30), new_alert_id="a2", policy=POLICY
        )
        assert decision.alert is not None
        assert decision.alert.evidence == (evidence(0),)

    def test_a_higher_severity_raises_the_alert_and_brings_its_deadline_closer(self) -> None:
        alert = opened("medium", kind="news2")
        decision = on_detection(
            alert,
            detection("d2", kind="news2", severity="critical", seconds=600),
            now=at(600),
            new_alert_id="a2",
            policy=POLICY,
        )
        raised = decision.alert
        assert raised is not None
        assert raised.severity == "critical"
        assert [t.event for t in decision.records] == ["evidence_added", "severity_raised"]
        assert raised.ack_deadline == at(660)  # critical's 60 s from now, not from opening
        assert raised.next_escalation_at == at(660)

    def test_a_lower_severity_keeps_the_higher_one(self) -> None:
        alert = opened("critical", kind="news2")
        decision = on_detection(
            alert,
            detection("d2", kind="news2", severity="medium", seconds=10),
            now=at(10),
            new_alert_id="a2",
            policy=POLICY,
        )
        assert decision.alert is not None
        assert decision.alert.severity == "critical"
        assert decision.alert.ack_deadline == at(60)


class TestIdempotency:
    def test_a_redelivered_detection_is_ignored_by_the_alert_that_absorbed_it(self) -> None:
        alert = opened()
        decision = on_detection(alert, detection(), now=at(1), new_alert_id="a2", policy=POLICY)
        assert (decision.outcome, decision.alert, decision.records) == ("duplicate", alert, ())
        assert not decision.processed

    def test_a_detection_the_store_saw_opens_nothing_after_the_alert_closed(self) -> None:
        decision = on_detection(
            None, detection(), now=at(600), new_alert_id="a2", policy=POLICY, seen={"d1"}
        )
        assert (decision.outcome, decision.alert) == ("duplicate", None)

    def test_a_redelivered_cancel_is_ignored(self) -> None:
        cancel = on_detection(
            opened(), detection("c1", "cancel"), now=at(20), new_alert_id="x", policy=POLICY
        )
        assert cancel.alert is not None
        again = on_detection(
            None, detection("c1", "cancel"), now=at(21), new_alert_id="x", policy=POLICY,
            seen={"d1", "c1"},
        )  # fmt: skip
        assert again.outcome == "duplicate"


class TestCancelByDetection:
    def test_a_cancel_while_open_cancels(self) -> None:
        alert = opened()
        decision = on_detection(
            alert,
            detection("c1", "cancel", seconds=20, summary="resident cancelled"),
            now=at(20),
            new_alert_id="x",
            policy=POLICY,
        )
        cancelled = decision.alert
        assert decision.outcome == "cancelled"
        assert cancelled is not None
        assert cancelled.status == "cancelled"
        assert cancelled.next_escalation_at is None
        (record,) = decision.records
        assert (record.event, record.from_status, record.to_status, record.actor) == (
            "cancelled",
            "open",
            "cancelled",
            "detector:fall",
        )
        assert record.reason == "resident cancelled"
        assert record.detection_id == "c1"

    @pytest.mark.parametrize("dispatched", [False, True])
    def test_a_cancel_after_acknowledgement_is_noted_and_keeps_the_alert(
        self, dispatched: bool
    ) -> None:
        alert = acknowledge(opened(), actor=DISPATCHER, now=at(10))
        if dispatched:
            alert = mark_dispatched(alert, actor=DISPATCHER, now=at(11))
        decision = on_detection(
            alert,
            detection("c1", "cancel", seconds=20),
            now=at(20),
            new_alert_id="x",
            policy=POLICY,
        )
        assert decision.outcome == "cancel_noted"
        assert decision.alert is not None
        assert decision.alert.status == alert.status
        (record,) = decision.records
        assert (record.event, record.from_status, record.to_status) == (
            "cancel_noted",
            alert.status,
            alert.status,
        )

    def test_a_cancel_with_nothing_active_is_processed_and_changes_nothing(self) -> None:
        decision = on_detection(
            None, detection("c1", "cancel"), now=T0, new_alert_id="x", policy=POLICY
        )
        assert (decision.outcome, decision.alert, decision.records) == ("no_alert", None, ())
        assert decision.processed

    def test_the_cancel_reading_becomes_evidence(self) -> None:
        cancel = detection("c1", "cancel", evidence_items=(evidence(20, device="button-1"),))
        decision = on_detection(opened(), cancel, now=at(20), new_alert_id="x", policy=POLICY)
        assert decision.alert is not None
        assert decision.alert.evidence[-1].device_id == "button-1"


class TestWrongCaller:
    def test_an_alert_of_another_kind_is_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="another home or kind"):
            on_detection(
                opened(kind="sos"), detection("d2"), now=T0, new_alert_id="x", policy=POLICY
            )

    def test_a_closed_alert_is_not_an_active_one(self) -> None:
        closed = resolve(opened(), actor=DISPATCHER, now=at(5))
        with pytest.raises(ValueError, match="closed"):
            on_detection(closed, detection("d2"), now=at(6), new_alert_id="x", policy=POLICY)


class TestActions:
    def test_acknowledge_records_who_and_stops_escalation(self) -> None:
        alert = acknowledge(opened(), actor=DISPATCHER, now=at(12), reason="calling")
        assert alert.status == "acknowledged"
        assert alert.next_escalation_at is None
        last = alert.history[-1]
        assert (last.at, last.actor, last.reason, last.from_status) == (
            at(12),
            DISPATCHER,
            "calling",
            "open",
        )

    def test_the_full_path_open_acknowledged_dispatched_resolved(self) -> None:
        alert = acknowledge(opened(), actor=DISPATCHER, now=at(10))
        alert = mark_dispatched(alert, actor=DISPATCHER, now=at(20), reason="d-1")
        alert = resolve(alert, actor="worker:w1", now=at(900), reason="helped up")
        assert [(t.from_status, t.to_status) for t in alert.history] == [
            (None, "open"),
            ("open", "acknowledged"),
            ("acknowledged", "dispatched"),
            ("dispatched", "resolved"),
        ]

    @pytest.mark.parametrize(
        ("action", "final"),
        [(mark_dispatched, "dispatched"), (resolve, "resolved")],
    )
    def test_acting_on_an_open_alert_acknowledges_it_first(
        self, action: Callable[..., Alert], final: str
    ) -> None:
        alert = action(opened(), actor=DISPATCHER, now=at(30))
        assert [(t.event, t.actor) for t in alert.history[1:]] == [
            ("acknowledged", DISPATCHER),
            (final, DISPATCHER),
        ]

    @pytest.mark.parametrize("steps", [0, 1, 2])
    def test_a_dispatcher_may_cancel_any_active_alert_with_a_reason(self, steps: int) -> None:
        alert = opened()
        if steps >= 1:
            alert = acknowledge(alert, actor=DISPATCHER, now=at(1))
        if steps >= 2:
            alert = mark_dispatched(alert, actor=DISPATCHER, now=at(2))
        cancelled = cancel_by_dispatcher(alert, actor=DISPATCHER, now=at(3), reason="false alarm")
        assert cancelled.status == "cancelled"
        assert cancelled.history[-1].reason == "false alarm"

    def test_a_dispatcher_cancel_needs_a_reason(self) -> None:
        with pytest.raises(ValueError, match="reason"):
            cancel_by_dispatcher(opened(), actor=DISPATCHER, now=at(3), reason="  ")

    @pytest.mark.parametrize("actor", ["alice", "dispatcher:", "robot:x", "dispatcher:a b"])
    def test_an_actor_must_name_role_and_id(self, actor: str) -> None:
        with pytest.raises(ValidationError):
            acknowledge(opened(), actor=actor, now=at(1))

    def test_a_clock_stepping_back_does_not_reorder_history(self) -> None:
        alert = acknowledge(opened(), actor=DISPATCHER, now=at(30))
        alert = resolve(alert, actor=DISPATCHER, now=at(10))
        assert alert.history[-1].at == at(30)


def _open() -> Alert:
    return opened()


def _acknowledged() -> Alert:
    return acknowledge(opened(), actor=DISPATCHER, now=at(1))


def _dispatched() -> Alert:
    return mark_dispatched(_acknowledged(), actor=DISPATCHER, now=at(2))


def _resolved() -> Alert:
    return resolve(_dispatched(), actor=DISPATCHER, now=at(3))


def _cancelled() -> Alert:
    return cancel_by_dispatcher(opened(), actor=DISPATCHER, now=at(3), reason="false alarm")


ILLEGAL: list[tuple[Callable[[], Alert], Callable[..., Alert], str]] = [
    (_acknowledged, acknowledge, "acknowledge"),
    (_dispatched, acknowledge, "acknowledge"),
    (_resolved, acknowledge, "acknowledge"),
    (_cancelled, acknowledge, "acknowledge"),
    (_dispatched, mark_dispatched, "dispatch"),
    (_resolved, mark_dispatched, "dispatch"),
    (_cancelled, mark_dispatched, "dispatch"),
    (_resolved, resolve, "resolve"),
    (_cancelled, resolve, "resolve"),
    (_resolved, cancel_by_dispatcher, "cancel"),
    (_cancelled, cancel_by_dispatcher, "cancel"),
]


class TestIllegalTransitions:
    @pytest.mark.parametrize(
        ("make", "action", "name"),
        ILLEGAL,
        ids=[f"{make.__name__[1:]}-{name}" for make, _, name in ILLEGAL],
    )
    def test_is_refused_with_a_clear_error(
        self, make: Callable[[], Alert], action: Callable[..., Alert], name: str
    ) -> None:
        alert = make()
        with pytest.raises(IllegalTransition) as caught:
            action(alert, actor=DISPATCHER, now=at(100), reason="try")
        assert (caught.value.alert_id, caught.value.status, caught.value.action) == (
            "a1",
            alert.status,
            name,
        )
        assert f"is {alert.status}: cannot {name}" in str(caught.value)


class TestEvidenceBound:
    def test_keeps_the_opening_readings_and_the_latest_others(self) -> None:
        held: tuple[Evidence, ...] = ()
        omitted = 0
        total = EVIDENCE_FIRST + EVIDENCE_LATEST + 7
        for second in range(total):
            held, omitted = merge_evidence(held, omitted, [evidence(second)])
        seconds = [int((e.ts - T0).total_seconds()) for e in held]
        assert seconds == [
            *range(EVIDENCE_FIRST),
            *range(total - EVIDENCE_LATEST, total),
        ]
        assert omitted == 7

    def test_a_late_old_reading_is_the_first_to_go(self) -> None:
        held = tuple(evidence(s) for s in range(EVIDENCE_FIRST + EVIDENCE_LATEST))
        late = evidence(2.5, device="radar-2")
        after, omitted = merge_evidence(held, 0, [late])
        assert late not in after
        assert omitted == 1

    def test_readings_with_and_without_offset_still_sort(self) -> None:
        held = tuple(evidence(s) for s in range(EVIDENCE_FIRST + 1))
        naive = evidence(99, device="radar-2").model_copy(update={"ts": T0.replace(tzinfo=None)})
        after, _ = merge_evidence(held, 0, [naive])
        assert naive in after

    def test_nothing_new_changes_nothing(self) -> None:
        held = (evidence(0), evidence(1))
        assert merge_evidence(held, 3, [evidence(1)]) == (held, 3)
