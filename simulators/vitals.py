"""A resident's vital signs over the day, and the NEWS2 score used to label ground truth.

The score is computed here, independently of the detectors it will be used to
grade. Bands: Royal College of Physicians, National Early Warning Score
(NEWS) 2, 2017, chart 1, SpO2 scale 1
(https://www.rcp.ac.uk/improving-care/resources/national-early-warning-score-news-2/).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

# Healthy readings stay inside these bounds, where every parameter scores 0
# except SpO2 95 (1 point): a healthy home never reaches a NEWS2 alert.
_HEALTHY: Final = {
    "heart_rate": (55.0, 88.0),
    "resp_rate": (12.0, 20.0),
    "spo2": (95.0, 99.0),
    "systolic_bp": (115.0, 160.0),
    "diastolic_bp": (62.0, 95.0),
    "temperature": (36.2, 37.5),
}
_NOISE: Final = {
    "heart_rate": 3.0,
    "resp_rate": 1.0,
    "spo2": 0.7,
    "systolic_bp": 5.0,
    "diastolic_bp": 3.0,
    "temperature": 0.1,
}


@dataclass(frozen=True, slots=True)
class Baseline:
    """A resident's resting values while awake."""

    heart_rate: float
    resp_rate: float
    spo2: float
    systolic_bp: float
    diastolic_bp: float
    temperature: float

    def get(self, name: str) -> float:
        value: float = getattr(self, name)
        return value


def baseline_for(rng: random.Random) -> Baseline:
    return Baseline(
        heart_rate=rng.uniform(62, 76),
        resp_rate=rng.uniform(14, 17),
        spo2=rng.uniform(96.3, 98.0),
        systolic_bp=rng.uniform(122, 142),
        diastolic_bp=rng.uniform(72, 84),
        temperature=rng.uniform(36.5, 36.8),
    )


@dataclass(frozen=True, slots=True)
class Deterioration:
    """Vitals sliding towards sepsis-like values: ramp, hold, then recovery (times in epoch ms)."""

    onset: int
    ramp: int
    hold: int
    recover: int
    target: Baseline

    def progress(self, t: int) -> float:
        """0 before onset, rising to 1 over the ramp, 1 while held, back to 0 after."""
        since = t - self.onset
        if since <= 0:
            return 0.0
        if since < self.ramp:
            return since / self.ramp
        since -= self.ramp
        if since < self.hold:
            return 1.0
        since -= self.hold
        return max(0.0, 1.0 - since / self.recover)

    @property
    def end(self) -> int:
        return self.onset + self.ramp + self.hold + self.recover


def deterioration_target(rng: random.Random) -> Baseline:
    """Values scoring NEWS2 >= 10 together (pulse 2, resp 3, SpO2 3, temp 1, BP 2)."""
    return Baseline(
        heart_rate=rng.uniform(118, 127),
        resp_rate=rng.uniform(25.5, 28),
        spo2=rng.uniform(88.5, 90.5),
        systolic_bp=rng.uniform(92, 99),
        diastolic_bp=rng.uniform(52, 60),
        temperature=rng.uniform(38.5, 39.0),
    )


def sample_vitals(
    base: Baseline,
    *,
    local_hour: float,
    asleep: bool,
    active: bool,
    with_bp: bool,
    rng: random.Random,
    deterioration: tuple[float, Baseline] | None = None,
) -> dict[str, float | int]:
    """One wearable reading: circadian rhythm, sleep and activity, noise, optional decline."""
    shift = {"heart_rate": 0.0, "resp_rate": 0.0, "systolic_bp": 0.0, "diastolic_bp": 0.0}
    if asleep:
        shift = {"heart_rate": -7.0, "resp_rate": -1.5, "systolic_bp": -10.0, "diastolic_bp": -6.0}
    elif active:
        shift = {"heart_rate": 8.0, "resp_rate": 2.0, "systolic_bp": 6.0, "diastolic_bp": 3.0}
    # Core temperature peaks late afternoon and is lowest before dawn.
    circadian = math.sin(2 * math.pi * (local_hour - 10.0) / 24.0)
    names = ["heart_rate", "resp_rate", "spo2", "temperature"]
    if with_bp:
        names += ["systolic_bp", "diastolic_bp"]
    reading: dict[str, float] = {}
    for name in names:
        value = base.get(name) + shift.get(name, 0.0) + rng.gauss(0.0, _NOISE[name])
        if name == "temperature":
            value += 0.25 * circadian
        low, high = _HEALTHY[name]
        value = min(high, max(low, value))
        if deterioration is not None and deterioration[0] > 0:
            progress, target = deterioration
            value += progress * (target.get(name) - value)
        reading[name] = value
    if with_bp:
        reading["diastolic_bp"] = min(reading["diastolic_bp"], reading["systolic_bp"] - 25)
    return {
        name: round(value, 1) if name == "temperature" else round(value)
        for name, value in reading.items()
    }


def _band(value: float, bands: tuple[tuple[float, int], ...], above: int) -> int:
    for upper, score in bands:
        if value <= upper:
            return score
    return above


def parameter_scores(values: Mapping[str, object]) -> dict[str, int]:
    """NEWS2 score of each parameter present in `values` (SpO2 scale 1)."""
    scores: dict[str, int] = {}
    for name, raw in values.items():
        if name == "consciousness":
            scores[name] = 0 if raw == "A" else 3
            continue
        if name == "on_oxygen":
            scores[name] = 2 if raw is True else 0
            continue
        if not isinstance(raw, int | float) or isinstance(raw, bool):
            continue
        value = float(raw)
        if name == "resp_rate":
            scores[name] = _band(value, ((8, 3), (11, 1), (20, 0), (24, 2)), 3)
        elif name == "spo2":
            scores[name] = _band(value, ((91, 3), (93, 2), (95, 1)), 0)
        elif name == "systolic_bp":
            scores[name] = _band(value, ((90, 3), (100, 2), (110, 1), (219, 0)), 3)
        elif name == "heart_rate":
            scores[name] = _band(value, ((40, 3), (50, 1), (90, 0), (110, 1), (130, 2)), 3)
        elif name == "temperature":
            scores[name] = _band(value, ((35.0, 3), (36.0, 1), (38.0, 0), (39.0, 1)), 2)
    return scores


def news2(values: Mapping[str, object]) -> tuple[int, int]:
    """(aggregate score, highest single-parameter score) of the parameters given."""
    scores = parameter_scores(values)
    return sum(scores.values()), max(scores.values(), default=0)
