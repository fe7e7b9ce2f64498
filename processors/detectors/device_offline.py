"""`device_offline`: a device said `offline` (its last will), or fell silent.

Silent means nothing from it (reading, heartbeat or status) for
`rules.offline_after_intervals` x its registered `report_interval_s`; silence
is only visible from a tick. Times here are the gateway's (a reading's
`received_at`, a status change's `at`), since silence is about arrival, and the
tick's `now` is the runner's clock: a device replaying buffered readings after
an outage is back, whatever its readings' own times say.

Per device: one `open` per outage; any message from it ends its outage. The
home has one alert of this kind, so the `cancel` comes when the last device that
was offline is heard from again. A device the registry lists but that has never
spoken counts as silent from the first time this detector saw the home. Not an
activity rule: a home marked away keeps it.
"""

from __future__ import annotations

import weakref
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from devices.events import GatewayEvent, StatusChange
from processors.detection import AlertKind, Detection, Evidence, detection_id
from processors.detector import Detector, DetectorState, HomeContext
from processors.detectors.activity import construct, fast_evidence_of, make_evidence


class DeviceSeen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    last_seen: datetime
    """Gateway time of the latest message from the device."""
    last: Evidence | None = None
    """That message, as evidence for a silence."""
    offline: bool = False
    """An `open` stands for this device."""


class DeviceOfflineState(DetectorState):
    devices: dict[str, DeviceSeen] = Field(default_factory=dict)
    since: datetime | None = None
    """When this detector first saw the home: silence of a never-heard device counts from here."""
    next_due: datetime | None = None
    """No tick before this can open anything (valid while `due_key` matches the home)."""
    due_key: int | None = None
    """Which home configuration `next_due` was computed for; None: not computed."""


class _Plan:
    """What a tick needs of a home, computed once per `HomeContext` object."""

    __slots__ = ("allowances", "key", "ordered")

    def __init__(self, home: HomeContext) -> None:
        factor = home.rules.offline_after_intervals
        self.ordered = tuple(
            (device_id, profile, timedelta(seconds=factor * profile.report_interval_s))
            for device_id, profile in sorted(home.devices.items())
        )
        self.allowances = {device_id: allowance for device_id, _, allowance in self.ordered}
        self.key = hash(
            (factor, tuple((device_id, a.total_seconds()) for device_id, _, a in self.ordered))
        )


_PLANS: dict[int, tuple[weakref.ref[HomeContext], _Plan]] = {}


def _plan(home: HomeContext) -> _Plan:
    entry = _PLANS.get(id(home))
    if entry is not None and entry[0]() is home:
        return entry[1]
    plan = _Plan(home)
    key = id(home)
    _PLANS[key] = (weakref.ref(home, lambda _: _PLANS.pop(key, None)), plan)
    return plan


def _evidence(event: GatewayEvent) -> Evidence:
    if isinstance(event, StatusChange):
        return make_evidence(event.device_id, "status", event.at, None, {"status": event.status})
    return fast_evidence_of(event)


class DeviceOfflineDetector:
    kind: ClassVar[AlertKind] = "device_offline"
    state_type: ClassVar[type[DetectorState]] = DeviceOfflineState

    def initial(self) -> DeviceOfflineState:
        return DeviceOfflineState()

    def on_event(
        self, state: DeviceOfflineState, event: GatewayEvent, home: HomeContext
    ) -> tuple[DeviceOfflineState, list[Detection]]:
        """An `offline` status opens; any other message from an offline device cancels."""
        seen_at = event.at if isinstance(event, StatusChange) else event.received_at
        since = seen_at if state.since is None or seen_at < state.since else state.since
        next_due, due_key = state.next_due, state.due_key
        if since != state.since:
            next_due, due_key = None, None  # never-heard devices' deadlines moved
        known = state.devices.get(event.device_id)
        if known is not None and seen_at < known.last_seen:
            # Delivered out of order: a later message already spoke for the device.
            if since == state.since:
                return state, []
            return state.model_copy(
                update={"since": since, "next_due": next_due, "due_key": due_key}
            ), []
        evidence = _evidence(event)
        going_offline = isinstance(event, StatusChange) and event.status == "offline"
        was_offline = known is not None and known.offline
        entry = construct(
            DeviceSeen, {"last_seen": seen_at, "last": evidence, "offline": going_offline}
        )
        devices = {**state.devices, event.device_id: entry}
        if due_key is not None and not going_offline:
            allowance = _plan(home).allowances.get(event.device_id)
            if allowance is not None:
                due = seen_at + allowance
                if next_due is None or due < next_due:
                    next_due = due
        new_state = construct(
            DeviceOfflineState,
            {"devices": devices, "since": since, "next_due": next_due, "due_key": due_key},
        )
        if going_offline:
            if was_offline:
                return new_state, []
            return new_state, [
                self._detection(
                    event.home_id,
                    "open",
                    event.device_id,
                    at=seen_at,
                    summary=f"device {event.device_id} reported offline",
                    evidence=(evidence,),
                    marker=("status", seen_at.isoformat()),
                )
            ]
        if not was_offline or any(seen.offline for seen in devices.values()):
            return new_state, []
        return new_state, [
            self._detection(
                event.home_id,
                "cancel",
                event.device_id,
                at=seen_at,
                summary=f"device {event.device_id} is back; no device is offline",
                evidence=(evidence,),
                marker=(evidence.type, evidence.seq, evidence.ts.isoformat()),
            )
        ]

    def on_tick(
        self, state: DeviceOfflineState, now: datetime, home: HomeContext
    ) -> tuple[DeviceOfflineState, list[Detection]]:
        """Open for each registered device silent past its allowance."""
        plan = _plan(home)
        if (
            state.since is not None
            and state.due_key == plan.key
            and (state.next_due is None or now < state.next_due)
        ):
            return state, []  # nothing can be silent past its allowance yet
        since = now if state.since is None else state.since
        devices = dict(state.devices)
        detections: list[Detection] = []
        next_due: datetime | None = None
        for device_id, profile, allowance in plan.ordered:
            known = devices.get(device_id)
            if known is not None and known.offline:
                continue
            last_seen = since if known is None else known.last_seen
            if now - last_seen < allowance:
                due = last_seen + allowance
                if next_due is None or due < next_due:
                    next_due = due
                continue
            devices[device_id] = DeviceSeen(
                last_seen=last_seen, last=None if known is None else known.last, offline=True
            )
            heard = (
                "never heard from" if known is None else f"silent since {last_seen:%H:%M:%S} UTC"
            )
            detections.append(
                self._detection(
                    home.rules.home_id,
                    "open",
                    device_id,
                    at=last_seen + allowance,
                    summary=(
                        f"device {device_id} {heard} (expected every {profile.report_interval_s} s)"
                    ),
                    evidence=() if known is None or known.last is None else (known.last,),
                    marker=("silent", last_seen.isoformat()),
                    details={
                        "report_interval_s": profile.report_interval_s,
                        "silent_since": last_seen.isoformat(),
                    },
                )
            )
        return construct(
            DeviceOfflineState,
            {"devices": devices, "since": since, "next_due": next_due, "due_key": plan.key},
        ), detections

    def _detection(
        self,
        home_id: str,
        action: Literal["open", "cancel"],
        device_id: str,
        *,
        at: datetime,
        summary: str,
        evidence: tuple[Evidence, ...],
        marker: tuple[object, ...],
        details: dict[str, float | int | bool | str | list[str] | None] | None = None,
    ) -> Detection:
        return Detection(
            detection_id=detection_id(home_id, self.kind, action, device_id, *marker),
            home_id=home_id,
            kind=self.kind,
            action=action,
            severity="low",
            service="technical",
            at=at,
            summary=summary,
            evidence=evidence,
            details={"device_id": device_id, **(details or {})},
        )


DETECTOR: Detector[DeviceOfflineState] = DeviceOfflineDetector()
