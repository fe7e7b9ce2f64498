"""Care workers as matching sees them, places on the globe, and the distance between them.

A `Worker` is a frozen snapshot: the shell (SQL, API) builds one from its row and
hands it to the pure matching and dispatch code. Distances are great-circle
(haversine) metres on the IUGG mean Earth radius: within a city that is well under
0.5 % from the ellipsoid, far below GPS error, and it is what the 3 km radius and
the 200 m check-in mean to anyone reading them.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from devices.envelope import Name
from processors.detection import Service

EARTH_RADIUS_M: Final = 6_371_008.8
"""IUGG mean Earth radius, metres."""

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, description="degrees")]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, description="degrees")]

CREDENTIAL_PATTERN: Final = r"^[A-Za-z0-9-]{4,32}$"
CredentialCode = Annotated[str, Field(pattern=CREDENTIAL_PATTERN)]
"""One person, one code: printed on the worker's card so a family can verify it."""

Stars = Annotated[int, Field(ge=1, le=5)]


class Place(BaseModel):
    """A point on the globe (WGS 84 degrees), validated on the way in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: Latitude
    lon: Longitude


def radians_of(lat: float, lon: float) -> tuple[float, float, float]:
    """`(φ, λ, cos φ)` in radians: what the haversine needs, precomputed once per point."""
    phi = math.radians(lat)
    return phi, math.radians(lon), math.cos(phi)


def haversine_rad(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    """Great-circle metres between two `radians_of` points.

    The one formula every distance in the package goes through, so the spatial
    index and a brute-force scan agree to the last bit.
    """
    phi1, lam1, cos1 = a
    phi2, lam2, cos2 = b
    s_phi = math.sin((phi2 - phi1) * 0.5)
    s_lam = math.sin((lam2 - lam1) * 0.5)
    h = s_phi * s_phi + cos1 * cos2 * s_lam * s_lam
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle metres between two points given in degrees."""
    return haversine_rad(radians_of(lat1, lon1), radians_of(lat2, lon2))


def distance_m(a: Place, b: Place) -> float:
    """Great-circle metres between two places."""
    return haversine_m(a.lat, a.lon, b.lat, b.lon)


class Worker(BaseModel):
    """A certified care worker: what they can do, where they are, how busy and how rated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    worker_id: Name
    name: str = Field(min_length=1, max_length=100)
    skills: frozenset[Service] = Field(min_length=1, description="services they may deliver")
    credential_code: CredentialCode
    credential_expires: date = Field(description="last day the credential is valid")
    lat: Latitude
    lon: Longitude
    on_shift: bool
    rating: float = Field(default=0.0, ge=0, le=5, allow_inf_nan=False, description="mean stars")
    rating_count: int = Field(default=0, ge=0, description="ratings the mean is over")
    active_jobs: int = Field(default=0, ge=0, description="dispatches accepted and not finished")

    @property
    def place(self) -> Place:
        return Place(lat=self.lat, lon=self.lon)

    def credential_valid_on(self, day: date) -> bool:
        """Valid through its expiry day, inclusive."""
        return day <= self.credential_expires

    def rated(self, stars: int) -> Worker:
        """This worker with one more family rating folded into the running mean."""
        if isinstance(stars, bool) or not 1 <= stars <= 5:
            raise ValueError("a rating is a whole number of stars, 1 to 5")
        count = self.rating_count + 1
        mean = (self.rating * self.rating_count + stars) / count
        return self.model_copy(update={"rating": round(mean, 6), "rating_count": count})
