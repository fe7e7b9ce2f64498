"""Field types every input model shares: ids, coordinates, flags, time zones, reasons."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from devices.envelope import ID_PATTERN, IanaZone, Name

__all__ = [
    "ID_PATTERN",
    "Flag",
    "Input",
    "Lat",
    "Lon",
    "Name",
    "Problem",
    "Reason",
    "Timezone",
    "problems",
]


class Input(BaseModel):
    """Base of every request body: frozen, and unknown fields are refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


Lat = Annotated[float, Field(strict=True, ge=-90, le=90, allow_inf_nan=False, description="°")]
Lon = Annotated[float, Field(strict=True, ge=-180, le=180, allow_inf_nan=False, description="°")]
Flag = Annotated[bool, Field(strict=True)]
Reason = Annotated[str, Field(max_length=500)]


Timezone = IanaZone
"""An IANA zone name the tz database knows (`Asia/Shanghai`, `UTC`)."""


class Problem(BaseModel):
    """Every error answer: `detail` names the problem, or lists the fields that failed
    validation (each with its `loc` and `msg`)."""

    detail: str | list[dict[str, Any]]


_PROBLEMS: dict[int, str] = {
    401: "no valid access token",
    404: "no such object, or not one the caller may see (the same answer either way)",
    409: "the id or username is taken, or the alert's status does not allow the action",
    422: "the request is malformed or out of bounds; `detail` says where",
    503: "a store this answer needs is unavailable; retry shortly",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers a router documents (its routes' `responses`)."""
    return {code: {"model": Problem, "description": _PROBLEMS[code]} for code in codes}
