"""Every detector the processors run: CONTRACT §2's catalogue, one module per kind."""

from __future__ import annotations

import importlib
from typing import Final

from processors.engine import AnyDetector, Detectors

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


def all_detectors() -> Detectors:
    """Each detector module's `DETECTOR`, in catalogue order, routed by the event types it reads."""
    detectors: list[AnyDetector] = []
    for name in DETECTOR_MODULES:
        module = importlib.import_module(f"processors.detectors.{name}")
        detectors.append(module.DETECTOR)
    return Detectors(detectors)
