"""`news2`: the National Early Warning Score 2 over the resident's latest vital signs.

Scoring follows the Royal College of Physicians' NEWS2 chart exactly:
Royal College of Physicians. National Early Warning Score (NEWS) 2: Standardising
the assessment of acute-illness severity in the NHS. Updated report of a working
party. London: RCP, 2017 (chart 1, "The NEWS2 scoring system"),
https://www.rcp.ac.uk/improving-care/resources/national-early-warning-score-news-2/

NEWS2 was validated for repeated in-hospital measurement of all seven
parameters together; at home they come from different devices at different
times. So the score is taken over each parameter's latest reading (by reading
time, whatever the arrival order) younger than `rules.news2_max_age` at the
evaluation time (the newest reading time seen), and every detection names the
parameters it rests on and those missing or stale.

Re-emission policy (to keep one alert per crossing without flooding):
- `open` when the band (medium < high < critical) rises, including from none;
- `open` again within the same band only when the set of parameters that
  score changes (a new reading of the same picture adds nothing);
- a fall to a lower band that still triggers emits nothing (the open alert keeps
  its severity), but a later rise emits again;
- `cancel` when the score falls below every trigger, but only once every
  parameter that scored in the triggering picture has a fresh reading: a
  parameter going stale is missing data, not recovery, so it never clears an alert.
Ticks do nothing: only a new reading changes the score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import ClassVar, Final, Literal, NamedTuple

from pydantic import Field

from devices.envelope import Name
from devices.events import GatewayEvent, Reading
from devices.types.vitals import VitalsTelemetry
from processors.detection import (
    Action,
    AlertKind,
    Details,
    Detection,
    Evidence,
    Severity,
    detection,
)
from processors.detector import Detector, DetectorState, EventType, HomeContext, ReadingDetector
from processors.frozen import replace

Parameter = Literal[
    "resp_rate", "spo2", "on_oxygen", "systolic_bp", "heart_rate", "consciousness", "temperature"
]
PARAMETERS: Final[tuple[Parameter, ...]] = (
    "resp_rate",
    "spo2",
    "on_oxygen",
    "systolic_bp",
    "heart_rate",
    "consciousness",
    "temperature",
)
"""The seven NEWS2 parameters, in the chart's order (diastolic pressure is not scored)."""

Band = Literal["none", "medium", "high", "critical"]
_BAND_RANK: Final[dict[Band, int]] = {"none": 0, "medium": 1, "high": 2, "critical": 3}
_BAND_SEVERITY: Final[dict[Band, Severity]] = {
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}
_BAND_REASON: Final[dict[Band, str]] = {
    "critical": "aggregate 7 or more",
    "high": "aggregate 5-6",
    "medium": "a single parameter scores 3",
    "none": "below every trigger",
}

# --- the chart ---------------------------------------------------------------


@lru_cache(maxsize=8192)
def _chart(value: float, places: int = 0) -> Decimal:
    """The value as charted: whole numbers, temperature to 0.1 °C, halves rounded up."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _banded(value: Decimal, bands: Iterable[tuple[str, int]], above: int) -> int:
    """The score of the first band whose upper edge (inclusive) holds the value."""
    for upper, points in bands:
        if value <= Decimal(upper):
            return points
    return above


def score_resp_rate(per_min: float) -> int:
    # <=8: 3 | 9-11: 1 | 12-20: 0 | 21-24: 2 | >=25: 3
    return _banded(_chart(per_min), (("8", 3), ("11", 1), ("20", 0), ("24", 2)), 3)


def score_spo2(percent: float, *, scale: Literal[1, 2], on_oxygen: bool) -> int:
    value = _chart(percent)
    if scale == 1:
        # <=91: 3 | 92-93: 2 | 94-95: 1 | >=96: 0
        return _banded(value, (("91", 3), ("93", 2), ("95", 1)), 0)
    # Scale 2, for hypercapnic respiratory failure with a prescribed 88-92 % target:
    # <=83: 3 | 84-85: 2 | 86-87: 1 | 88-92 or >=93 on air: 0
    # | 93-94 on oxygen: 1 | 95-96 on oxygen: 2 | >=97 on oxygen: 3
    if value <= 92 or not on_oxygen:
        return _banded(value, (("83", 3), ("85", 2), ("87", 1)), 0)
    return _banded(value, (("94", 1), ("96", 2)), 3)


def score_on_oxygen(on_oxygen: bool) -> int:
    # Air: 0 | Oxygen: 2
    return 2 if on_oxygen else 0


def score_systolic_bp(mmhg: float) -> int:
    # <=90: 3 | 91-100: 2 | 101-110: 1 | 111-219: 0 | >=220: 3
    return _banded(_chart(mmhg), (("90", 3), ("100", 2), ("110", 1), ("219", 0)), 3)


def score_heart_rate(bpm: float) -> int:
    # <=40: 3 | 41-50: 1 | 51-90: 0 | 91-110: 1 | 111-130: 2 | >=131: 3
    return _banded(_chart(bpm), (("40", 3), ("50", 1), ("90", 0), ("110", 1), ("130", 2)), 3)


def score_consciousness(acvpu: str) -> int:
    # Alert: 0 | new Confusion, Voice, Pain, Unresponsive: 3
    return 0 if acvpu == "A" else 3


def score_temperature(celsius: float) -> int:
    # <=35.0: 3 | 35.1-36.0: 1 | 36.1-38.0: 0 | 38.1-39.0: 1 | >=39.1: 2
    return _banded(_chart(celsius, 1), (("35.0", 3), ("36.0", 1), ("38.0", 0), ("39.0", 1)), 2)


# --- state and assessment ------------------------------------------------------


class ParameterReading(NamedTuple):
    """A parameter's latest value and the reading it came from (a tuple: cheap per reading)."""

    value: bool | float | str
    ts: datetime
    device_id: Name
    seq: int

    def newer_than(self, other: ParameterReading) -> bool:
        return (self.ts, self.device_id, self.seq) > (other.ts, other.device_id, other.seq)


class News2State(DetectorState):
    latest: dict[Parameter, ParameterReading] = Field(default_factory=dict)
    clock: datetime | None = None
    """The newest reading time seen: the evaluation time."""
    band: Band = "none"
    scoring: tuple[Parameter, ...] = ()
    """Parameters scoring above 0 in the picture last emitted or held open."""


class Assessment(NamedTuple):
    """NEWS2 at one evaluation time: scores of the fresh parameters, and what is absent.

    (A tuple, and what is missing or stale worked out only when asked: one is made
    per vitals reading, and most readings raise nothing.)
    """

    scores: Mapping[Parameter, int]
    used: Mapping[Parameter, ParameterReading]
    latest: Mapping[Parameter, ParameterReading]
    fresh_after: datetime
    """A reading is fresh (younger than the maximum age) when taken after this."""
    scale: Literal[1, 2]
    aggregate: int
    band: Band

    @property
    def missing(self) -> tuple[Parameter, ...]:
        return tuple(name for name in PARAMETERS if name not in self.latest)

    @property
    def stale(self) -> tuple[Parameter, ...]:
        latest, fresh_after = self.latest, self.fresh_after
        return tuple(
            name for name in PARAMETERS if name in latest and latest[name].ts <= fresh_after
        )

    @property
    def scoring(self) -> tuple[Parameter, ...]:
        return tuple(name for name, points in self.scores.items() if points > 0)


def band_of(aggregate: int, scores: Iterable[int]) -> Band:
    """The RCP trigger band: aggregate 7+, aggregate 5-6, or a single parameter scoring 3."""
    if aggregate >= 7:
        return "critical"
    if aggregate >= 5:
        return "high"
    if 3 in scores:
        return "medium"
    return "none"


def assess(
    latest: Mapping[Parameter, ParameterReading],
    *,
    at: datetime,
    max_age: timedelta,
    scale: Literal[1, 2],
) -> Assessment:
    """Score each parameter's latest reading younger than `max_age` at `at`."""
    fresh_after = at - max_age  # at - ts < max_age, without a subtraction per parameter
    fresh = {
        name: reading
        for name in PARAMETERS
        if (reading := latest.get(name)) is not None and reading.ts > fresh_after
    }
    # An unreported oxygen flag is taken as air (0 points) and named missing or stale.
    oxygen = "on_oxygen" in fresh and fresh["on_oxygen"].value is True
    scores: dict[Parameter, int] = {}
    for name, reading in fresh.items():
        points = score_parameter(name, reading.value, scale, oxygen)
        if points is not None:
            scores[name] = points
    aggregate = sum(scores.values())
    return Assessment(
        scores=scores,
        used=fresh if len(fresh) == len(scores) else {name: fresh[name] for name in scores},
        latest=latest,
        fresh_after=fresh_after,
        scale=scale,
        aggregate=aggregate,
        band=band_of(aggregate, scores.values()),
    )


@lru_cache(maxsize=8192)
def score_parameter(
    name: Parameter, value: bool | float | str, scale: Literal[1, 2], on_oxygen: bool
) -> int | None:
    """One parameter's points (SpO2 by `scale`, and on scale 2 by `on_oxygen`).

    None for a value of the wrong kind, which `VitalsData` never lets through; cached,
    since a resident's readings keep returning to the same few values.
    """
    if name == "on_oxygen":
        return score_on_oxygen(value is True)
    if name == "consciousness":
        return score_consciousness(str(value))
    if isinstance(value, bool | str):
        return None
    if name == "spo2":
        return score_spo2(value, scale=scale, on_oxygen=on_oxygen)
    return _NUMERIC[name](value)


_NUMERIC: Final = {
    "resp_rate": score_resp_rate,
    "systolic_bp": score_systolic_bp,
    "heart_rate": score_heart_rate,
    "temperature": score_temperature,
}

# --- the detector ------------------------------------------------------------------


def _merge(
    latest: dict[Parameter, ParameterReading], device_id: str, telemetry: VitalsTelemetry
) -> dict[Parameter, ParameterReading]:
    """Each parameter's latest reading, by reading time, with this reading's values in."""
    merged = dict(latest)
    ts, seq = telemetry.ts, telemetry.seq
    values = telemetry.data.__dict__
    for name in PARAMETERS:
        value = values[name]
        if value is None:
            continue
        known = merged.get(name)
        # Newer by reading time, then (device, seq): the order `newer_than` defines.
        if (
            known is None
            or ts > known.ts
            or (ts == known.ts and (device_id, seq) > (known.device_id, known.seq))
        ):
            # As validation would store it: an int is taken as a float.
            merged[name] = ParameterReading(
                float(value) if type(value) is int else value, ts, device_id, seq
            )
    return merged


def _evidence(assessment: Assessment) -> tuple[Evidence, ...]:
    """One evidence entry per reading used, with the parameters taken from it."""
    grouped: dict[tuple[datetime, str, int], dict[str, float | bool | str | None]] = {}
    for name, reading in assessment.used.items():
        grouped.setdefault((reading.ts, reading.device_id, reading.seq), {})[name] = reading.value
    return tuple(
        Evidence(device_id=device_id, type="vitals", ts=ts, seq=seq, values=values)
        for (ts, device_id, seq), values in sorted(grouped.items())
    )


def _inputs(assessment: Assessment) -> list[str]:
    return [f"{name}={r.device_id}:{r.seq}" for name, r in assessment.used.items()]


def _summary(assessment: Assessment, band: Band) -> str:
    used = ", ".join(
        f"{name} {assessment.used[name].value} ({points})"
        for name, points in assessment.scores.items()
    )
    text = f"NEWS2 {assessment.aggregate}, {_BAND_REASON[band]}: {used or 'nothing fresh'}"
    if assessment.missing:
        text += f"; missing: {', '.join(assessment.missing)}"
    if assessment.stale:
        text += f"; stale: {', '.join(assessment.stale)}"
    return text[:500]


def _details(assessment: Assessment, band: Band) -> Details:
    details: Details = {
        "aggregate": assessment.aggregate,
        "band": band,
        "spo2_scale": assessment.scale,
        "parameters_used": list(assessment.used),
        "parameters_missing": list(assessment.missing),
        "parameters_stale": list(assessment.stale),
    }
    for name, points in assessment.scores.items():
        details[f"score_{name}"] = points
    return details


class News2Detector(ReadingDetector[News2State]):
    """Readings alone: staleness never clears or raises NEWS2, only a reading does."""

    kind: ClassVar[AlertKind] = "news2"
    state_type: ClassVar[type[DetectorState]] = News2State
    reads: ClassVar[frozenset[EventType]] = frozenset({"vitals"})

    def on_event(
        self, state: News2State, event: GatewayEvent, home: HomeContext
    ) -> tuple[News2State, list[Detection]]:
        """Re-score on each vitals reading; open on a rise, cancel once cleared."""
        if not isinstance(event, Reading) or not isinstance(event.telemetry, VitalsTelemetry):
            return state, []
        telemetry = event.telemetry
        latest = _merge(state.latest, event.device_id, telemetry)
        clock = telemetry.ts if state.clock is None else max(state.clock, telemetry.ts)
        rules = home.rules
        assessment = assess(latest, at=clock, max_age=rules.news2_max_age, scale=rules.spo2_scale)
        band = assessment.band
        seen = {"latest": latest, "clock": clock}
        if band == "none":
            if state.band == "none":
                return replace(state, seen), []
            if any(name not in assessment.used for name in state.scoring):
                return replace(state, seen), []  # what triggered has gone stale: not a recovery
            cleared = self._detection(event.home_id, "cancel", state.band, assessment, clock)
            return replace(state, {**seen, "band": "none", "scoring": ()}), [cleared]
        scoring = assessment.scoring
        rose = _BAND_RANK[band] > _BAND_RANK[state.band]
        changed = band == state.band and scoring != state.scoring
        new_state = replace(state, {**seen, "band": band, "scoring": scoring})
        if not (rose or changed):
            return new_state, []
        return new_state, [self._detection(event.home_id, "open", band, assessment, clock)]

    def _detection(
        self, home_id: str, action: Action, band: Band, assessment: Assessment, at: datetime
    ) -> Detection:
        shown: Band = band if action == "open" else "none"
        return detection(
            home_id,
            self.kind,
            action,
            (band, *_inputs(assessment)),
            at=at,
            summary=_summary(assessment, shown),
            evidence=_evidence(assessment),
            details=_details(assessment, shown),
            severity=_BAND_SEVERITY[band],
        )


DETECTOR: Detector[News2State] = News2Detector()
