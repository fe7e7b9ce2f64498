"""`unusual_inactivity`: a silence unusual for this resident at this time of day.

Beyond the fixed 3 h rule, the detector learns the resident's own rhythm, the
way commercial telecare services do (a learned activity baseline): for each
15-minute bin of the local day it learns how long a silence this resident
normally reaches in that bin. Activity is what `inactivity` counts (motion,
any door or bed change).

Learning, online and bounded (96 bins x 4 numbers): each time the event-time
clock passes a bin's end, the bin's longest silence in progress (the gap
before each activity in the bin, and the silence still running at its end) is
that day's sample for the bin. A day's samples are learned when the local day
ends, so today's silence is judged against earlier days only, never against
itself. Samples are learned in log-minutes (silences are skewed), clipped at
a mature bin's threshold (an alert-worthy day must not teach that it is
usual), with an exponentially weighted mean and variance: a plain average for
the first 14 days, then a 14-day memory so the baseline follows a changing
routine. The bin's own threshold is `exp(mean + 3 sd)` minutes, about the
99.9th percentile of a log-normal, with sd at least 0.4; the threshold used at a bin
is the largest over it and its neighbours within 30 min (routines drift), and
at least 45 min, so a very regular routine does not make every small delay
alarming. Checked on the simulator (`simulators/`): 12 healthy homes x 35
days raised nothing, and an injected daytime silence was flagged 45-125 min
in, 1-2 h before the 3 h rule; mean + 2 sd on single bins, learned the same
day and including outings, raised about one false alarm a day per home.

Firing: a silence at `now` at or over the threshold at `now`'s bin, once that
bin has `MIN_DAYS` (7) samples, only between `day_start` and `day_end` (the
night has bed_exit, night_wandering and bathroom_long, and a sleeper's
silences are too variable to judge), and only where the threshold is shorter
than `inactivity_after` (otherwise it is not "earlier than the fixed rule").
A silence that began at the front door is neither learned nor judged: the
resident most likely went out, and an empty home is quiet (the fixed 3 h
rule still applies, as the contract words it). One detection per silence; activity cancels.
Nothing is learned or reported while the home is away.

Late readings: learning follows the event-time clock (the latest reading or
tick seen). A late reading moves the last activity forward if newer (ending a
silence, cancelling its alert), and counts for the bin still open, but bins
already closed are not revised. A gap of more than 8 days in the clock (the
processor was down) is skipped rather than learned.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Final

from devices.events import GatewayEvent
from processors.detection import AlertKind, Detection, Evidence, detection, evidence_of
from processors.detector import Detector, DetectorBase, DetectorState, EventType, HomeContext
from processors.detectors.activity import ACTIVITY, activity, in_hours, silence_cancel
from processors.frozen import replace
from processors.rules import HomeRules

BIN: Final = timedelta(minutes=15)
BINS: Final = 96
MIN_DAYS: Final = 7
"""Samples a bin needs before it may fire."""
MEMORY_DAYS: Final = 14
"""Plain average up to this many samples, then an exponential memory of about this length."""
K_SD: Final = 3.0
MIN_SD: Final = 0.4
"""Floor on the spread, in log-minutes."""
MIN_THRESHOLD_MIN: Final = 45.0
NEIGHBOURS: Final = 2
"""A bin's threshold is the largest of its own and this many bins either side (+-30 min):
a routine drifts by half an hour from day to day (a later lunch, a longer nap)."""
MAX_CATCH_UP: Final = timedelta(days=8)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_NO_SAMPLES: Final = (-1.0,) * BINS


def _bin_start(ts: datetime) -> datetime:
    """The UTC 15-minute boundary at or before `ts` (also local: offsets are whole quarters)."""
    return ts - (ts - _EPOCH) % BIN


def bin_index(ts: datetime, rules: HomeRules) -> int:
    """The local-day bin of `ts`, 0 for 00:00-00:15 local."""
    local = ts.astimezone(rules.zone)
    return (local.hour * 60 + local.minute) // 15


class UnusualInactivityState(DetectorState):
    last_activity: datetime | None = None
    last_evidence: Evidence | None = None
    clock: datetime | None = None
    """Event time learned up to: the latest reading or tick seen."""
    open_bin_max_min: float = 0.0
    """Longest silence, in minutes, ended by activity in the bin still open."""
    counts: tuple[int, ...] = (0,) * BINS
    means: tuple[float, ...] = (0.0,) * BINS
    """Per bin, EW mean of log(longest silence in minutes)."""
    variances: tuple[float, ...] = (0.0,) * BINS
    day: date | None = None
    """Local day of the samples still pending."""
    pending: tuple[float, ...] = _NO_SAMPLES
    """Per bin, this day's longest silence in minutes (-1: none yet); learned at the day's end."""
    reported: datetime | None = None
    """The last-activity time whose silence is open as an alert."""


def _bin_threshold(state: UnusualInactivityState, index: int) -> float | None:
    if state.counts[index] < MIN_DAYS:
        return None
    sd = max(math.sqrt(state.variances[index]), MIN_SD)
    return math.exp(state.means[index] + K_SD * sd)


def threshold_minutes(state: UnusualInactivityState, index: int) -> float | None:
    """The learned unusual-silence threshold at a bin, or None until it has `MIN_DAYS` samples."""
    threshold = _thresholds(state)[index]
    return None if threshold is None else threshold[0]


def _threshold(state: UnusualInactivityState, index: int) -> float | None:
    if _bin_threshold(state, index) is None:
        return None
    around = (
        _bin_threshold(state, (index + offset) % BINS)
        for offset in range(-NEIGHBOURS, NEIGHBOURS + 1)
    )
    return max(MIN_THRESHOLD_MIN, *(value for value in around if value is not None))


Baseline = tuple[tuple[int, ...], tuple[float, ...], tuple[float, ...]]
Threshold = tuple[float, timedelta]
"""A bin's threshold in minutes, and as a duration."""
_LEARNED: dict[int, tuple[Baseline, tuple[Threshold | None, ...]]] = {}
"""Every bin's threshold per learned baseline (counts, means, variances), by identity:
the baseline changes once a local day, and the silence is judged on every tick."""


def _thresholds(state: UnusualInactivityState) -> tuple[Threshold | None, ...]:
    counts, means, variances = baseline = (state.counts, state.means, state.variances)
    known = _LEARNED.get(id(means))
    if known is not None:
        (known_counts, known_means, known_variances), worked_out = known
        if known_counts is counts and known_means is means and known_variances is variances:
            return worked_out
    if len(_LEARNED) >= 4096:  # one entry per home and day: forget the old days now and then
        _LEARNED.clear()
    worked_out = tuple(
        None if minutes is None else (minutes, timedelta(minutes=minutes))
        for minutes in (_threshold(state, index) for index in range(BINS))
    )
    _LEARNED[id(state.means)] = (baseline, worked_out)
    return worked_out


def _went_out(evidence: Evidence | None) -> bool:
    """The silence began at the front door: the resident most likely went out."""
    return (
        evidence is not None and evidence.type == "door" and evidence.values.get("door") == "front"
    )


def _fold(state: UnusualInactivityState) -> UnusualInactivityState:
    """Learn the finished day's samples: one per bin, clipped at a mature bin's threshold."""
    counts, means, variances = list(state.counts), list(state.means), list(state.variances)
    for index, minutes in enumerate(state.pending):
        if minutes < 0:
            continue
        limit = _bin_threshold(state, index)
        # Winsorised: one very unusual day (an alert) must not teach that it is usual.
        x = math.log(max(min(minutes, limit if limit is not None else minutes), 1.0))
        n = counts[index] + 1
        alpha = max(1.0 / n, 1.0 / MEMORY_DAYS)
        delta = x - means[index]
        counts[index] = n
        means[index] += alpha * delta
        variances[index] = (1 - alpha) * (variances[index] + alpha * delta * delta)
    return replace(
        state,
        {
            "counts": tuple(counts),
            "means": tuple(means),
            "variances": tuple(variances),
            "pending": _NO_SAMPLES,
        },
    )


def _close_bin(
    state: UnusualInactivityState, boundary: datetime, rules: HomeRules
) -> UnusualInactivityState:
    """Record the closing bin's longest silence for its local day; a new day folds the last."""
    start = boundary - BIN
    day = start.astimezone(rules.zone).date()
    if state.day != day:
        if state.day is not None:
            state = _fold(state)
        state = replace(state, {"day": day})
    last = state.last_activity
    if last is not None and not rules.away and not _went_out(state.last_evidence):
        running = (boundary - last).total_seconds() / 60
        sample = max(running, state.open_bin_max_min)
        index = bin_index(start, rules)
        pending = list(state.pending)
        pending[index] = max(pending[index], sample)
        state = replace(state, {"pending": tuple(pending)})
    return replace(state, {"open_bin_max_min": 0.0})


def advance(
    state: UnusualInactivityState, to: datetime, rules: HomeRules
) -> UnusualInactivityState:
    """Move the event-time clock to `to`, recording every bin it closes."""
    state, update = _advanced(state, to, rules)
    return replace(state, update) if update else state


def _advanced(
    state: UnusualInactivityState, to: datetime, rules: HomeRules
) -> tuple[UnusualInactivityState, dict[str, Any]]:
    """`advance`, as the state with the closed bins recorded and the fields left to set
    (so a reading can set them together with its own)."""
    clock = state.clock
    if clock is None or to - clock > MAX_CATCH_UP:
        return state, {"clock": to, "open_bin_max_min": 0.0}
    if to <= clock:
        return state, {}
    boundary = _bin_start(clock) + BIN
    while boundary <= to:
        state = _close_bin(state, boundary, rules)
        boundary += BIN
    return state, {"clock": to}


class UnusualInactivityDetector(DetectorBase[UnusualInactivityState]):
    kind: ClassVar[AlertKind] = "unusual_inactivity"
    state_type: ClassVar[type[DetectorState]] = UnusualInactivityState
    reads: ClassVar[frozenset[EventType]] = ACTIVITY

    def on_event(
        self, state: UnusualInactivityState, event: GatewayEvent, home: HomeContext
    ) -> tuple[UnusualInactivityState, list[Detection]]:
        """Learn up to the reading's time; activity ends the silence (cancelling its alert)."""
        reading = activity(event)
        if reading is None:
            return state, []
        ts = reading.telemetry.ts
        state, detections = self._judge(state, ts, home)
        state, update = _advanced(state, ts, home.rules)
        last = state.last_activity
        if last is not None and ts <= last:
            return (replace(state, update) if update else state), detections
        clock = update.get("clock", state.clock)
        open_bin_max_min = update.get("open_bin_max_min", state.open_bin_max_min)
        update |= {"last_activity": ts, "last_evidence": evidence_of(reading), "reported": None}
        if (
            last is not None
            and not _went_out(state.last_evidence)
            and clock is not None
            and (ts >= clock or ts >= _bin_start(clock))
        ):
            gap = (ts - last).total_seconds() / 60
            update["open_bin_max_min"] = max(open_bin_max_min, gap)
        if state.reported is not None:
            cancelled = silence_cancel(self.kind, home, state.reported, reading)
            detections.append(cancelled)
        return replace(state, update), detections

    def on_tick(
        self, state: UnusualInactivityState, now: datetime, home: HomeContext
    ) -> tuple[UnusualInactivityState, list[Detection]]:
        """Judge the silence so far against this bin's baseline, then learn up to `now`."""
        state, detections = self._judge(state, now, home)
        return advance(state, now, home.rules), detections

    def _judge(
        self, state: UnusualInactivityState, now: datetime, home: HomeContext
    ) -> tuple[UnusualInactivityState, list[Detection]]:
        rules = home.rules
        last = state.last_activity
        if rules.away or last is None or state.reported == last or _went_out(state.last_evidence):
            return state, []
        local_now = now.astimezone(rules.zone)
        if not in_hours(local_now.time(), rules.day_start, rules.day_end):
            return state, []
        index = (local_now.hour * 60 + local_now.minute) // 15
        threshold = _thresholds(state)[index]
        if threshold is None or threshold[1] >= rules.inactivity_after:
            return state, []
        limit = threshold[0]
        silence = (now - last).total_seconds() / 60
        if silence < limit:
            return state, []
        local = last.astimezone(rules.zone)
        unusual = detection(
            rules.home_id,
            self.kind,
            "open",
            (last.isoformat(),),
            at=now,
            summary=(
                f"no activity since {local:%H:%M} local ({silence:.0f} min): unusual for this "
                f"resident at this time of day (usually under {limit:.0f} min)"
            ),
            evidence=() if state.last_evidence is None else (state.last_evidence,),
            details={
                "last_activity": last.isoformat(),
                "silence_min": round(silence, 1),
                "threshold_min": round(limit, 1),
                "bin": index,
                "days_learned": state.counts[index],
            },
        )
        return replace(state, {"reported": last}), [unusual]


DETECTOR: Detector[UnusualInactivityState] = UnusualInactivityDetector()
