"""Escalation: which steps fall due when, and how they are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from alerts.escalation import EscalationPolicy, Tier, due, escalate
from alerts.lifecycle import acknowledge, cancel_by_dispatcher, on_detection, resolve
from alerts.model import Alert
from processors.detection import Detection, Severity

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = EscalationPolicy()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def opened(severity: Severity = "critical", policy: EscalationPolicy = POLICY) -> Alert:
    detection = Detection(
        detection_id="d1",
        home_id="home-1",
        kind="sos",
        severity=severity,
        service="medical",
        at=T0,
        summary="sos pressed",
    )
    alert = on_detection(None, detection, now=T0, new_alert_id="a1", policy=policy).alert
    assert alert is not None
    return alert


def run(alert: Alert, now: datetime, policy: EscalationPolicy = POLICY) -> Alert:
    return escalate(alert, due(alert, now, policy), now=now)


class TestPolicy:
    def test_the_default_ladder_is_two_dispatcher_tiers_then_family_then_emergency(
        self,
    ) -> None:
        assert [t.name for t in POLICY.ladder] == [
            "dispatcher_tier_1",
            "dispatcher_tier_2",
            "family",
            "emergency_contact",
        ]

    def test_the_number_of_dispatcher_tiers_is_configurable(self) -> None:
        ladder = EscalationPolicy(dispatcher_tiers=3).ladder
        assert [t.name for t in ladder][:4] == [
            "dispatcher_tier_1",
            "dispatcher_tier_2",
            "dispatcher_tier_3",
            "family",
        ]

    def test_deadlines_parse_from_seconds(self) -> None:
        policy = EscalationPolicy.model_validate(
            {"ack_deadlines": {"critical": 30, "high": 60, "medium": 90, "low": 120}}
        )
        assert policy.deadline("critical") == timedelta(seconds=30)

    @pytest.mark.parametrize(
        "deadlines",
        [
            {"critical": 30, "high": 60, "medium": 90},
            {"critical": 0, "high": 60, "medium": 90, "low": 120},
        ],
    )
    def test_incomplete_or_zero_deadlines_are_refused(self, deadlines: dict[str, int]) -> None:
        with pytest.raises(ValidationError):
            EscalationPolicy.model_validate({"ack_deadlines": deadlines})


class TestDue:
    def test_nothing_before_the_deadline(self) -> None:
        assert due(opened(), at(59.999), POLICY) == []

    def test_at_the_deadline_it_climbs_to_the_second_tier(self) -> None:
        (step,) = due(opened(), at(60), POLICY)
        assert (step.step, step.level, step.tier.name) == ("escalate", 1, "dispatcher_tier_2")
        assert [t.name for t in step.notify] == ["dispatcher_tier_1", "dispatcher_tier_2"]
        assert (step.scheduled_at, step.next_at) == (at(60), at(120))

    @pytest.mark.parametrize(
        ("severity", "deadline_s"),
        [("critical", 60), ("high", 300), ("medium", 1800), ("low", 86400)],
    )
    def test_the_deadline_depends_on_severity(self, severity: Severity, deadline_s: int) -> None:
        alert = opened(severity)
        assert due(alert, at(deadline_s - 1), POLICY) == []
        assert len(due(alert, at(deadline_s), POLICY)) == 1

    def test_each_interval_climbs_one_rung_then_reminds(self) -> None:
        alert = opened()
        seen = []
        for seconds in (60, 120, 180, 240, 300):
            alert = run(alert, at(seconds))
            last = alert.history[-1]
            seen.append((last.event, last.level))
        assert seen == [
            ("escalated", 1),
            ("escalated", 2),
            ("escalated", 3),
            ("reminded", 3),
            ("reminded", 3),
        ]
        assert alert.next_escalation_at == at(360)

    def test_a_late_timer_records_every_rung_missed_but_one_reminder(self) -> None:
        steps = due(opened(), at(60 * 10 + 5), POLICY)
        assert [(s.step, s.tier.name) for s in steps] == [
            ("escalate", "dispatcher_tier_2"),
            ("escalate", "family"),
            ("escalate", "emergency_contact"),
            ("remind", "emergency_contact"),
        ]
        assert steps[-1].scheduled_at == at(600)
        assert steps[-1].next_at == at(660)

    def test_the_same_moment_twice_gives_nothing_the_second_time(self) -> None:
        alert = run(opened(), at(60))
        assert due(alert, at(60), POLICY) == []

    @pytest.mark.parametrize("close", ["acknowledge", "resolve", "cancel"])
    def test_nothing_for_an_acknowledged_or_closed_alert(self, close: str) -> None:
        alert = opened()
        if close == "acknowledge":
            alert = acknowledge(alert, actor="dispatcher:bob", now=at(5))
        elif close == "resolve":
            alert = resolve(alert, actor="dispatcher:bob", now=at(5))
        else:
            alert = cancel_by_dispatcher(alert, actor="dispatcher:bob", now=at(5), reason="test")
        assert due(alert, at(10_000), POLICY) == []

    def test_custom_reminder_interval(self) -> None:
        policy = EscalationPolicy.model_validate(
            {"reminder_intervals": {"critical": 10, "high": 60, "medium": 60, "low": 60}}
        )
        alert = run(opened(policy=policy), at(60), policy)
        assert alert.next_escalation_at == at(70)


class TestEscalate:
    def test_each_step_is_recorded_by_the_system_with_its_lateness(self) -> None:
        alert = run(opened(), at(65))
        last = alert.history[-1]
        assert (last.event, last.actor, last.at, last.level) == (
            "escalated",
            "system:escalation",
            at(65),
            1,
        )
        assert "dispatcher_tier_2" in last.reason
        assert "5 s late" in last.reason
        assert (alert.escalation_level, alert.status) == (1, "open")

    def test_steps_for_an_alert_acknowledged_meanwhile_are_dropped(self) -> None:
        alert = opened()
        steps = due(alert, at(60), POLICY)
        acked = acknowledge(alert, actor="dispatcher:bob", now=at(60))
        assert escalate(acked, steps, now=at(60)) == acked

    def test_a_tier_has_a_stable_name(self) -> None:
        assert Tier(kind="family").name == "family"
        assert Tier(kind="dispatcher", number=2).name == "dispatcher_tier_2"
