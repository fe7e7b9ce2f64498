"""Pure scoring of detections against the simulator's ground truth.

A truth record is found when an `open` detection of the same kind and home
falls in its window: from `EARLY` before the record's start to the kind's
`MAX_DELAY` after it. The first such detection gives the delay (event time,
detection `at` minus truth `start`). Later opens while the injected condition
lasts (until the leak dried, the resident came back, the stove went off, the
deterioration recovered; see `condition_end`) are the same alert getting more
evidence (CONTRACT §2: at most one alert of a kind is open per home). Any other
`open` detection is a false alarm, repeats of one within `REPEAT_WINDOW`
counting once.

`unusual_inactivity` (the learned baseline) is scored on its own against the
`inactivity` truth, from the last activity before it: earlier than the fixed
rule is the point of it, so its delay may be negative, and its false alarms
are kept out of the overall figure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from processors.detection import Detection
from simulators.truth import TruthRecord

EARLY: Final = timedelta(minutes=1)
"""How much before the truth start a detection may open and still count (clock rounding)."""

MAX_DELAY: Final[dict[str, timedelta]] = {
    "sos": timedelta(minutes=5),
    "fall": timedelta(minutes=5),
    "smoke": timedelta(minutes=5),
    "leak": timedelta(minutes=5),
    "news2": timedelta(hours=1),
    "inactivity": timedelta(hours=1),
    "night_wandering": timedelta(minutes=30),
    "bed_exit": timedelta(minutes=30),
    "stove_unattended": timedelta(minutes=30),
    "device_offline": timedelta(hours=2),
}
"""Latest a detection may open after the truth start and still count, per kind."""

DEFAULT_MAX_DELAY: Final = timedelta(hours=1)
REPEAT_WINDOW: Final = timedelta(hours=1)
"""Unmatched opens of one (home, kind) closer together than this are one false alarm."""

NEWS2_EPISODE: Final = timedelta(hours=7)
"""How long an injected deterioration lasts from its onset: ramp 1 h, hold 5 h, recover 1 h
(`simulators.scenarios.resolve`)."""
_ENDS: Final = ("cleared_at", "resumed_at", "back_at", "returned_at", "stove_off_at")

BASELINE_KIND: Final = "unusual_inactivity"
BASELINE_TRUTH: Final = "inactivity"


def max_delay(kind: str) -> timedelta:
    return MAX_DELAY.get(kind, DEFAULT_MAX_DELAY)


def condition_end(record: TruthRecord) -> datetime:
    """Until when opens of the record's kind are repeats of its alert, not new alarms."""
    latest = record.start + max_delay(record.kind)
    if record.kind == "device_offline":
        return datetime.max.replace(tzinfo=record.start.tzinfo)  # offline for good
    ends = [_moment(record.details.get(key)) for key in _ENDS]
    if record.kind == "news2":
        onset = _moment(record.details.get("onset_at"))
        ends.append(None if onset is None else onset + NEWS2_EPISODE)
    return max([latest, *(end for end in ends if end is not None)])


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


@dataclass(frozen=True, slots=True)
class Match:
    """One truth record and the detection that found it (None: missed).

    `detected_at` is the detection's own `at` (the moment it says the condition
    held); `seen_at` is the stream's event time when the engine emitted it, which
    is later for conditions only a tick can see.
    """

    truth: TruthRecord
    detected_at: datetime | None
    seen_at: datetime | None = None

    @property
    def delay(self) -> timedelta | None:
        """From the truth start to when the detection came out of the engine."""
        moment = self.seen_at or self.detected_at
        return None if moment is None else moment - self.truth.start

    @property
    def stamped_delay(self) -> timedelta | None:
        return None if self.detected_at is None else self.detected_at - self.truth.start


@dataclass(slots=True)
class KindScore:
    """How one detector kind did."""

    kind: str
    matches: list[Match] = field(default_factory=list)
    false_alarms: list[Detection] = field(default_factory=list)
    opens: int = 0

    @property
    def injected(self) -> int:
        return len(self.matches)

    @property
    def detected(self) -> int:
        return sum(1 for match in self.matches if match.detected_at is not None)

    @property
    def missed(self) -> list[Match]:
        return [match for match in self.matches if match.detected_at is None]

    @property
    def recall(self) -> float | None:
        return self.detected / self.injected if self.injected else None

    @property
    def precision(self) -> float | None:
        alerts = self.detected + len(self.false_alarms)
        return self.detected / alerts if alerts else None

    def delays_s(self) -> list[float]:
        return sorted(m.delay.total_seconds() for m in self.matches if m.delay is not None)

    def delay_s(self, q: float) -> float | None:
        return quantile(self.delays_s(), q)

    def stamped_delay_s(self, q: float) -> float | None:
        stamped = [
            m.stamped_delay.total_seconds() for m in self.matches if m.stamped_delay is not None
        ]
        return quantile(sorted(stamped), q)


@dataclass(slots=True)
class Score:
    """Every kind's score, and the overall false-alarm rate over `home_days`."""

    kinds: dict[str, KindScore]
    home_days: float
    baseline: KindScore | None = None
    baseline_lead_s: list[float] = field(default_factory=list)
    """Per inactivity record found by both: how much earlier the baseline opened (s)."""

    @property
    def false_alarms(self) -> int:
        return sum(len(score.false_alarms) for score in self.kinds.values())

    @property
    def false_alarms_per_home_day(self) -> float | None:
        return self.false_alarms / self.home_days if self.home_days > 0 else None

    @property
    def baseline_false_alarms_per_home_day(self) -> float | None:
        if self.baseline is None or self.home_days <= 0:
            return None
        return len(self.baseline.false_alarms) / self.home_days


def quantile(values: Sequence[float], q: float) -> float | None:
    """The `q` quantile (0-1) of sorted `values`, interpolated linearly; None when empty."""
    if not 0 <= q <= 1:
        raise ValueError("q must be within 0..1")
    if not values:
        return None
    rank = q * (len(values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return values[low] + (values[high] - values[low]) * (rank - low)


def score(
    detections: Iterable[Detection],
    truth: Iterable[TruthRecord],
    *,
    home_days: float,
    since: datetime | None = None,
    until: datetime | None = None,
    baseline: bool = False,
    seen_at: Mapping[str, datetime] | None = None,
) -> Score:
    """Match `open` detections in [since, until) to `truth`, per kind and home.

    The learned baseline is scored when `baseline` (its detector ran) or when it opened.
    `seen_at` maps a detection id to the event time it was emitted at, for the delays.
    """
    opens: dict[tuple[str, str], list[Detection]] = defaultdict(list)
    seen: set[str] = set()
    for detection in detections:
        if detection.action != "open" or detection.detection_id in seen:
            continue
        if (since is not None and detection.at < since) or (
            until is not None and detection.at >= until
        ):
            continue
        seen.add(detection.detection_id)
        opens[(detection.home_id, detection.kind)].append(detection)
    records: dict[tuple[str, str], list[TruthRecord]] = defaultdict(list)
    for record in truth:
        records[(record.home_id, record.kind)].append(record)

    kinds: dict[str, KindScore] = {}
    for home_id, kind in sorted(opens.keys() | records.keys()):
        if kind == BASELINE_KIND:
            continue
        result = kinds.setdefault(kind, KindScore(kind))
        found = opens.get((home_id, kind), [])
        result.opens += len(found)
        windows = [
            (r, r.start - EARLY, r.start + max_delay(kind), condition_end(r))
            for r in records[(home_id, kind)]
        ]
        _match(result, windows, found, seen_at or {})

    learned = None
    lead: list[float] = []
    if baseline or any(kind == BASELINE_KIND for _, kind in opens):
        learned = KindScore(BASELINE_KIND)
        for home_id in sorted({home for home, _ in opens.keys() | records.keys()}):
            found = opens.get((home_id, BASELINE_KIND), [])
            learned.opens += len(found)
            windows = [
                (r, _last_activity(r), r.start + max_delay(BASELINE_TRUTH), condition_end(r))
                for r in records.get((home_id, BASELINE_TRUTH), [])
            ]
            _match(learned, windows, found, seen_at or {})
        fixed = {id(m.truth): m.delay for m in kinds.get(BASELINE_TRUTH, KindScore("")).matches}
        for match in learned.matches:
            rule_delay = fixed.get(id(match.truth))
            if match.delay is not None and rule_delay is not None:
                lead.append((rule_delay - match.delay).total_seconds())
    return Score(kinds=kinds, home_days=home_days, baseline=learned, baseline_lead_s=sorted(lead))


def _last_activity(record: TruthRecord) -> datetime:
    """Where the baseline's window opens: the last activity before the inactivity record."""
    last = _moment(record.details.get("last_activity_at"))
    return record.start - EARLY if last is None else last


def _match(
    result: KindScore,
    windows: list[tuple[TruthRecord, datetime, datetime, datetime]],
    found: list[Detection],
    seen_at: Mapping[str, datetime],
) -> None:
    """First open in each record's window finds it; opens outside every condition are false."""
    found = sorted(found, key=lambda detection: detection.at)
    for record, opens_at, closes_at, _ in sorted(windows, key=lambda window: window[0].start):
        first = next((d for d in found if opens_at <= d.at <= closes_at), None)
        if first is None:
            result.matches.append(Match(record, None))
        else:
            result.matches.append(Match(record, first.at, seen_at.get(first.detection_id)))
    last_false: datetime | None = None
    for detection in found:
        if any(opens_at <= detection.at <= ends for _, opens_at, _, ends in windows):
            continue
        if last_false is None or detection.at - last_false >= REPEAT_WINDOW:
            result.false_alarms.append(detection)
        last_false = detection.at
