"""Per-home rules: thresholds, hours and time zone, with CONTRACT §2's defaults.

Defaults follow published telecare practice as the contract states them; a
home overrides any of them (a night-shift worker's "night", a resident on
long-term oxygen who is assessed on SpO2 scale 2).
"""

from __future__ import annotations

from datetime import time, timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from devices.envelope import IanaZone, Name


class HomeRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    home_id: Name
    timezone: IanaZone = Field(default="Asia/Shanghai", description="IANA zone: hours are local")
    away: bool = Field(
        default=False, description="pauses activity rules, never sos/fall/smoke/leak"
    )

    fall_min_confidence: float = Field(default=0.6, ge=0, le=1)
    fall_cancel_window: timedelta = timedelta(seconds=60)

    news2_max_age: timedelta = timedelta(hours=1)
    spo2_scale: Literal[1, 2] = 1

    day_start: time = time(7, 0)
    day_end: time = time(22, 0)
    inactivity_after: timedelta = timedelta(hours=3)

    night_start: time = time(23, 0)
    night_end: time = time(6, 0)
    wandering_motion_window: timedelta = timedelta(minutes=10)
    bed_exit_after: timedelta = timedelta(minutes=30)
    bathroom_after: timedelta = timedelta(minutes=45)
    meal_by: time = time(11, 0)
    stove_after: timedelta = timedelta(minutes=30)

    climate_low_c: float = 16.0
    climate_high_c: float = 30.0
    climate_after: timedelta = timedelta(hours=1)

    offline_after_intervals: float = Field(default=3.0, gt=1)
    low_battery_percent: float = Field(default=15.0, ge=0, le=100)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
