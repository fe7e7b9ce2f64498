"""The alert lifecycle as a state machine, driven by hypothesis.

Many homes and kinds; random detections (and redeliveries of old ones, as an
at-least-once pipeline does), people acting on random alerts (including closed ones),
and a clock that jumps, with the escalation timer run at every tick as the service
runs it. After every step: no illegal transition was accepted, at most one active alert
per (home, kind), no open alert past its acknowledgement deadline without an escalation
record, and every history is an ordered, legal walk.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from alerts.escalation import EscalationPolicy, due, escalate
from alerts.lifecycle import (
    EVIDENCE_FIRST,
    EVIDENCE_LATEST,
    acknowledge,
    cancel_by_dispatcher,
    mark_dispatched,
    on_detection,
    resolve,
)
from alerts.model import ACTIVE, Alert, AlertStatus, IllegalTransition
from processors.detection import Detection, Evidence

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
HOMES = ("home-1", "home-2", "home-3")
KINDS = ("sos", "fall", "news2")
SEVERITIES = ("critical", "high", "medium", "low")

# Every status change the contract allows; anything else in a history is a bug.
LEGAL: frozenset[tuple[AlertStatus | None, AlertStatus]] = frozenset(
    {
        (None, "open"),
        ("open", "acknowledged"),
        ("acknowledged", "dispatched"),
        ("acknowledged", "resolved"),
        ("dispatched", "resolved"),
        ("open", "cancelled"),
        ("acknowledged", "cancelled"),
        ("dispatched", "cancelled"),
        ("open", "open"),
        ("acknowledged", "acknowledged"),
        ("dispatched", "dispatched"),
    }
)

# Which statuses each action starts from (the model the implementation is checked against).
ACTIONS: dict[str, tuple[Callable[..., Alert], frozenset[AlertStatus], AlertStatus]] = {
    "acknowledge": (acknowledge, frozenset({"open"}), "acknowledged"),
    "dispatch": (mark_dispatched, frozenset({"open", "acknowledged"}), "dispatched"),
    "resolve": (resolve, ACTIVE, "resolved"),
    "cancel": (cancel_by_dispatcher, ACTIVE, "cancelled"),
}


class AlertLifecycle(RuleBasedStateMachine):
    detections = Bundle("detections")
    policies: ClassVar[tuple[EscalationPolicy, ...]] = (
        EscalationPolicy(),
        EscalationPolicy(dispatcher_tiers=1),
        EscalationPolicy.model_validate(
            {
                "ack_deadlines": {"critical": 30, "high": 45, "medium": 90, "low": 600},
                "reminder_intervals": {"critical": 7, "high": 20, "medium": 60, "low": 300},
                "dispatcher_tiers": 3,
            }
        ),
    )

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.policy = EscalationPolicy()
        self.alerts: dict[str, Alert] = {}
        self.active: dict[tuple[str, str], str] = {}
        self.processed: set[str] = set()
        self.serial = 0

    @initialize(policy=st.sampled_from(policies))
    def choose_policy(self, policy: EscalationPolicy) -> None:
        self.policy = policy

    def _next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial}"

    def _apply(self, detection: Detection) -> None:
        key = (detection.home_id, detection.kind)
        before = self.alerts[self.active[key]] if key in self.active else None
        decision = on_detection(
            before,
            detection,
            now=self.now,
            new_alert_id=self._next_id("a"),
            policy=self.policy,
            seen=self.processed,
        )
        duplicate = detection.detection_id in self.processed
        assert (decision.outcome == "duplicate") == duplicate
        if duplicate:
            assert decision.alert == before
            assert decision.records == ()
            return
        expected = {
            ("open", None): "opened",
            ("open", "open"): "merged",
            ("open", "acknowledged"): "merged",
            ("open", "dispatched"): "merged",
            ("cancel", None): "no_alert",
            ("cancel", "open"): "cancelled",
            ("cancel", "acknowledged"): "cancel_noted",
            ("cancel", "dispatched"): "cancel_noted",
        }[(detection.action, before.status if before else None)]
        assert decision.outcome == expected
        self.processed.add(detection.detection_id)
        alert = decision.alert
        if alert is None:
            return
        assert alert.history == (before.history if before else ()) + decision.records
        self._store(alert)

    def _store(self, alert: Alert) -> None:
        self.alerts[alert.alert_id] = alert
        key = (alert.home_id, alert.kind)
        if alert.active:
            assert self.active.setdefault(key, alert.alert_id) == alert.alert_id
        elif self.active.get(key) == alert.alert_id:
            del self.active[key]

    @rule(
        target=detections,
        home=st.sampled_from(HOMES),
        kind=st.sampled_from(KINDS),
        action=st.sampled_from(("open", "open", "cancel")),
        severity=st.sampled_from(SEVERITIES),
        device=st.sampled_from(("d1", "d2")),
    )
    def detect(self, home: str, kind: str, action: str, severity: str, device: str) -> Detection:
        serial = self.serial + 1
        detection = Detection.model_validate(
            {
                "detection_id": f"det{serial}",
                "home_id": home,
                "kind": kind,
                "action": action,
                "severity": severity,
                "service": "medical",
                "at": self.now,
                "summary": f"{kind} {action}",
                "evidence": (
                    Evidence(device_id=device, type=kind, ts=self.now, seq=serial, values={}),
                ),
            }
        )
        self._apply(detection)
        return detection

    @rule(detection=detections)
    def redeliver(self, detection: Detection) -> None:
        self._apply(detection)

    @precondition(lambda self: self.alerts)
    @rule(action=st.sampled_from(sorted(ACTIONS)), data=st.data())
    def act(self, action: str, data: st.DataObject) -> None:
        alert = self.alerts[data.draw(st.sampled_from(sorted(self.alerts)), label="alert")]
        function, allowed, target = ACTIONS[action]
        try:
            after = function(alert, actor="dispatcher:alice", now=self.now, reason="because")
        except IllegalTransition:
            assert alert.status not in allowed, f"{action} refused from {alert.status}"
            return
        assert alert.status in allowed, f"{action} accepted from {alert.status}"
        assert after.status == target
        assert after.history[: len(alert.history)] == alert.history
        self._store(after)

    @rule(
        seconds=st.one_of(
            st.sampled_from((1, 7, 29, 30, 31, 59, 60, 61, 299, 300, 301, 1800, 86_400)),
            st.integers(min_value=0, max_value=200_000),
        )
    )
    def tick(self, seconds: int) -> None:
        """The clock moves on and the service's escalation timer runs."""
        self.now += timedelta(seconds=seconds)
        for alert_id in list(self.active.values()):
            alert = self.alerts[alert_id]
            self._store(escalate(alert, due(alert, self.now, self.policy), now=self.now))

    @invariant()
    def one_active_alert_per_home_and_kind(self) -> None:
        keys = [(a.home_id, a.kind) for a in self.alerts.values() if a.active]
        assert len(keys) == len(set(keys))
        assert set(keys) == set(self.active)

    @invariant()
    def no_open_alert_overdue_without_an_escalation_record(self) -> None:
        for alert in self.alerts.values():
            if alert.status != "open":
                continue
            assert alert.next_escalation_at is not None
            assert alert.next_escalation_at > self.now
            if self.now >= alert.ack_deadline:
                assert any(t.event == "escalated" for t in alert.history)

    @invariant()
    def no_alert_left_open_past_its_deadline_without_an_escalation_record(self) -> None:
        for alert in self.alerts.values():
            left = next((t for t in alert.history if t.from_status == "open" != t.to_status), None)
            if left is not None and left.at >= alert.ack_deadline:
                assert any(t.event == "escalated" for t in alert.history)

    @invariant()
    def histories_are_ordered_legal_walks(self) -> None:
        for alert in self.alerts.values():
            previous: Any = None
            last_at = alert.history[0].at
            for record in alert.history:
                assert record.from_status == previous
                assert (record.from_status, record.to_status) in LEGAL
                assert record.at >= last_at
                assert record.at <= self.now
                previous, last_at = record.to_status, record.at
            assert previous == alert.status
            assert alert.updated_at == last_at

    @invariant()
    def each_detection_is_absorbed_once_at_most(self) -> None:
        seen: list[str] = [
            t.detection_id
            for alert in self.alerts.values()
            for t in alert.history
            if t.detection_id is not None
        ]
        assert len(seen) == len(set(seen))
        assert set(seen) <= self.processed

    @invariant()
    def evidence_stays_bounded(self) -> None:
        for alert in self.alerts.values():
            assert len(alert.evidence) <= EVIDENCE_FIRST + EVIDENCE_LATEST


AlertLifecycle.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAlertLifecycle = AlertLifecycle.TestCase
