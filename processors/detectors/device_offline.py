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

from pydantic import Field

from devices.events import GatewayEvent, StatusChange
from devices.telemetry import Telemetry
from processors.detection import (
    Action,
    AlertKind,
    Details,
    Detection,
    Evidence,
    detection,
    evidence_of,
    status_evidence,
    telemetry_evidence,
)
from processors.detector import (
    EVERY_EVENT,
    Detector,
    DetectorBase,
    DetectorState,
    EventType,
    HomeContext,
)
from processors.frozen import construct

Status = Literal["online", "offline"]


DeviceSeen = tuple[datetime, bool, Telemetry | Status | None]
"""What this detector keeps of a device, `(last_seen, offline, last)` (a plain tuple: one
is made per message): the gateway time of its latest message; whether an `open` stands
for it; and that message, for the evidence of a silence (a reading's telemetry as
received, or the status said at `last_seen`; None for a device never heard from)."""


def _last_evidence(device_id: str, seen: DeviceSeen) -> tuple[Evidence, ...]:
    last_seen, _, last = seen
    if last is None:
        return ()
    if isinstance(last, str):
        return (status_evidence(device_id, last, last_seen),)
    return (telemetry_evidence(device_id, last),)


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


class DeviceOfflineDetector(DetectorBase[DeviceOfflineState]):
    kind: ClassVar[AlertKind] = "device_offline"
    state_type: ClassVar[type[DetectorState]] = DeviceOfflineState
    reads: ClassVar[frozenset[EventType]] = EVERY_EVENT

    def on_event(
        self, state: DeviceOfflineState, event: GatewayEvent, home: HomeContext
    ) -> tuple[DeviceOfflineState, list[Detection]]:
        """An `offline` status opens; any other message from an offline device cancels."""
        last: Telemetry | Status
        if isinstance(event, StatusChange):
            seen_at, last = event.at, event.status
            going_offline = last == "offline"
        else:
            seen_at, last = event.received_at, event.telemetry
            going_offline = False
        device_id = event.device_id
        since = state.since
        next_due, due_key = state.next_due, state.due_key
        if since is None or seen_at < since:
            since, next_due, due_key = seen_at, None, None  # never-heard devices' deadlines moved
        known = state.devices.get(device_id)
        if known is not None and seen_at < known[0]:
            # Delivered out of order: a later message already spoke for the device.
            if since == state.since:
                return state, []
            return construct(
                DeviceOfflineState,
                {"devices": state.devices, "since": since, "next_due": None, "due_key": None},
            ), []
        devices = state.devices.copy()
        devices[device_id] = (seen_at, going_offline, last)
        # A device heard again only moves its own deadline later, so the home's earliest
        # can only come sooner for a device it did not count: new, offline, or none counted.
        if (
            due_key is not None
            and not going_offline
            and (known is None or known[1] or next_due is None)
        ):
            allowance = _plan(home).allowances.get(device_id)
            if allowance is not None:
                due = seen_at + allowance
                if next_due is None or due < next_due:
                    next_due = due
        new_state = construct(
            DeviceOfflineState,
            {"devices": devices, "since": since, "next_due": next_due, "due_key": due_key},
        )
        was_offline = known is not None and known[1]
        if going_offline:
            if was_offline:
                return new_state, []
            return new_state, [
                self._detection(
                    event.home_id,
                    "open",
                    device_id,
                    ("status", seen_at.isoformat()),
                    at=seen_at,
                    summary=f"device {device_id} reported offline",
                    evidence=(status_evidence(device_id, "offline", seen_at),),
                )
            ]
        if not was_offline or any(offline for _, offline, _ in devices.values()):
            return new_state, []
        evidence = (
            status_evidence(device_id, "online", seen_at)
            if isinstance(event, StatusChange)
            else evidence_of(event)
        )
        return new_state, [
            self._detection(
                event.home_id,
                "cancel",
                device_id,
                (evidence.type, evidence.seq, evidence.ts.isoformat()),
                at=seen_at,
                summary=f"device {device_id} is back; no device is offline",
                evidence=(evidence,),
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
            if known is None:
                last_seen, last = since, None
            else:
                last_seen, offline, last = known
                if offline:
                    continue
            if now - last_seen < allowance:
                due = last_seen + allowance
                if next_due is None or due < next_due:
                    next_due = due
                continue
            devices[device_id] = (last_seen, True, last)
            heard = (
                "never heard from" if known is None else f"silent since {last_seen:%H:%M:%S} UTC"
            )
            detections.append(
                self._detection(
                    home.rules.home_id,
                    "open",
                    device_id,
                    ("silent", last_seen.isoformat()),
                    at=last_seen + allowance,
                    summary=(
                        f"device {device_id} {heard} (expected every {profile.report_interval_s} s)"
                    ),
                    evidence=() if known is None else _last_evidence(device_id, known),
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
        action: Action,
        device_id: str,
        marker: tuple[object, ...],
        *,
        at: datetime,
        summary: str,
        evidence: tuple[Evidence, ...],
        details: Details | None = None,
    ) -> Detection:
        return detection(
            home_id,
            self.kind,
            action,
            (device_id, *marker),
            at=at,
            summary=summary,
            evidence=evidence,
            details={"device_id": device_id, **(details or {})},
        )


DETECTOR: Detector[DeviceOfflineState] = DeviceOfflineDetector()
