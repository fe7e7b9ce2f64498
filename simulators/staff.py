"""Simulated care workers for a simulated neighbourhood: where they are, what they can do.

Seeded like the homes, spread over the same disc so every home has workers
within the 3 km matching radius, and every service has someone skilled.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict

from processors.detection import Service
from simulators.fleet import ZHONGSHAN, random_place

SKILL_SETS: Final[tuple[frozenset[Service], ...]] = (
    frozenset({"medical", "wellbeing"}),
    frozenset({"housekeeping", "meal"}),
    frozenset({"technical"}),
    frozenset({"wellbeing", "meal", "housekeeping"}),
    frozenset({"medical", "wellbeing", "meal"}),
)
_NAMES: Final = ("Chen Jing", "Li Na", "Wang Yong", "Zhou Min", "Huang Lei", "Wu Fang", "Xu Tao")


class SimWorker(BaseModel):
    model_config = ConfigDict(frozen=True)

    worker_id: str
    name: str
    skills: frozenset[Service]
    credential_code: str
    credential_expires: date
    lat: float
    lon: float


def workers_for(homes: int) -> int:
    """About one worker per two homes, never fewer than one per skill set."""
    return max(len(SKILL_SETS), math.ceil(homes / 2))


def build_staff(
    count: int,
    *,
    seed: int,
    today: date,
    centre: tuple[float, float] = ZHONGSHAN,
    radius_km: float = 8.0,
) -> tuple[SimWorker, ...]:
    """`count` on-duty workers, skill sets in rotation, credentials valid for a year."""
    staff = []
    for index in range(1, count + 1):
        rng = random.Random(f"{seed}:worker-{index}")
        lat, lon = random_place(rng, centre, radius_km)
        staff.append(
            SimWorker(
                worker_id=f"worker-{index}",
                name=f"{_NAMES[index % len(_NAMES)]} ({index})",
                skills=SKILL_SETS[(index - 1) % len(SKILL_SETS)],
                credential_code=f"ZS-{rng.randrange(16**6):06X}-{index}",
                credential_expires=today + timedelta(days=365),
                lat=round(lat, 6),
                lon=round(lon, 6),
            )
        )
    return tuple(staff)
