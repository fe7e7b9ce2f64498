"""Every detector the processors run: CONTRACT §2's catalogue, one module per kind."""

from __future__ import annotations

import importlib
from typing import Any, Final

from processors.detector import Detector

DETECTOR_MODULES: Final[tuple[str, ...]] = (
    "sos",
    "fall",
    "news2",
    "leak",
    "smoke",
    "low_battery",
    "device_offline",
    "home_climate",
    "inactivity",
    "night_wandering",
    "bed_exit",
    "bathroom_long",
    "no_meal",
    "stove_unattended",
    "unusual_inactivity",
)
"""Modules of `processors.detectors`, each exposing its detector as `DETECTOR`."""


def all_detectors() -> tuple[Detector[Any], ...]:
    """Each detector module's `DETECTOR`, in catalogue order."""
    detectors: list[Detector[Any]] = []
    for name in DETECTOR_MODULES:
        module = importlib.import_module(f"processors.detectors.{name}")
        detectors.append(module.DETECTOR)
    return tuple(detectors)
