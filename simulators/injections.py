"""Scenario injections as typed values, and the text form used on the command line.

Grammar::

    injection = KIND "@" HOME [ "+" OFFSET ] [ "/" DEVICE ]
    KIND      = fall | sos | news2 | inactivity | night_wandering | bed_exit
              | stove_unattended | leak | smoke | device_offline
                (aliases: deterioration = news2, stove_left_on = stove_unattended)
    HOME      = a home id, e.g. sim-0003
    OFFSET    = time after the simulation start: whole numbers with units d, h, m, s,
                largest first, each at most once: 90s, 10m, 1h30m, 2d6h (at most 400d);
                no offset means at the start
    DEVICE    = a device id of that home; only for leak, smoke and device_offline

Examples: ``fall@sim-0003+10m``, ``news2@sim-0001+2h``,
``device_offline@sim-0002+1h/sim-0002-climate-bedroom``.

Scenarios that only make sense at some times of day (inactivity in the day,
night_wandering and bed_exit at night, a fall or a forgotten stove while the
resident is at home and awake) start at the first suitable moment at or
after the offset; the ground-truth record carries the moment actually used.
"""

from __future__ import annotations

import difflib
import re
from datetime import timedelta
from typing import Final, Literal, cast, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devices.envelope import Name
from simulators.errors import InjectionError

InjectionKind = Literal[
    "fall",
    "sos",
    "news2",
    "inactivity",
    "night_wandering",
    "bed_exit",
    "stove_unattended",
    "leak",
    "smoke",
    "device_offline",
]
"""Every injection kind is named after the CONTRACT §2 alert kind it should raise."""

KINDS: Final[tuple[str, ...]] = get_args(InjectionKind)
ALIASES: Final = {"deterioration": "news2", "stove_left_on": "stove_unattended"}
DEVICE_KINDS: Final = frozenset({"leak", "smoke", "device_offline"})
MAX_OFFSET: Final = timedelta(days=400)
_MAX_TEXT: Final = 200

_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_OFFSET: Final = re.compile(
    r"(?:(?P<d>[0-9]{1,6})d)?(?:(?P<h>[0-9]{1,7})h)?(?:(?P<m>[0-9]{1,9})m)?(?:(?P<s>[0-9]{1,11})s)?",
    re.ASCII,
)
_UNITS: Final = {"d": 86_400, "h": 3600, "m": 60, "s": 1}
_USAGE: Final = "expected KIND@HOME[+OFFSET][/DEVICE], e.g. fall@sim-0003+10m"


class Injection(BaseModel):
    """Make `kind` happen in `home_id`, `offset` after the simulation starts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: InjectionKind
    home_id: Name
    offset: timedelta = Field(default=timedelta(0), ge=timedelta(0), le=MAX_OFFSET)
    device_id: Name | None = Field(
        default=None, description="which device (leak, smoke, device_offline only)"
    )

    @model_validator(mode="after")
    def _device_only_where_meaningful(self) -> Injection:
        if self.device_id is not None and self.kind not in DEVICE_KINDS:
            raise ValueError(
                f"{self.kind} takes no device (only {', '.join(sorted(DEVICE_KINDS))})"
            )
        return self

    def __str__(self) -> str:
        text = f"{self.kind}@{self.home_id}"
        if self.offset:
            text += "+" + format_offset(self.offset)
        if self.device_id is not None:
            text += "/" + self.device_id
        return text


def format_offset(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    parts = []
    for unit, size in _UNITS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


def parse_duration(text: str, *, what: str = "duration") -> timedelta:
    """`1h30m` -> 90 minutes (units d h m s, largest first); raises `ValueError` otherwise."""
    match = _OFFSET.fullmatch(text) if isinstance(text, str) and text.isascii() else None
    if not text or match is None:
        raise ValueError(
            f"{what} must be like 90s, 10m, 1h30m or 2d (units d h m s, largest first)"
        )
    seconds = sum(int(value) * _UNITS[unit] for unit, value in match.groupdict().items() if value)
    if seconds > MAX_OFFSET.total_seconds():
        raise ValueError(f"{what} is more than {MAX_OFFSET.days} days")
    return timedelta(seconds=seconds)


def parse_injection(text: str) -> Injection:
    """Parse `KIND@HOME[+OFFSET][/DEVICE]`; raises `InjectionError` saying what is wrong."""
    if not isinstance(text, str):
        raise InjectionError(repr(text), "an injection is text")
    spec = text.strip()
    if not spec:
        raise InjectionError(text, f"empty; {_USAGE}")
    if len(spec) > _MAX_TEXT:
        raise InjectionError(text, f"longer than {_MAX_TEXT} characters")
    if not spec.isascii() or not spec.isprintable() or any(c.isspace() for c in spec):
        raise InjectionError(
            text, "only ASCII letters, digits and the characters @ + / _ - may appear"
        )
    kind_text, at, rest = spec.partition("@")
    if not at:
        raise InjectionError(text, f"no '@'; {_USAGE}")
    kind = ALIASES.get(kind_text, kind_text)
    if kind not in KINDS:
        known = list(KINDS) + list(ALIASES)
        close = difflib.get_close_matches(kind_text, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InjectionError(text, f"unknown kind {kind_text!r}{hint}; known: {', '.join(KINDS)}")
    rest, slash, device = rest.partition("/")
    if slash and not _ID.fullmatch(device):
        raise InjectionError(text, "device id must be 1-64 of A-Z a-z 0-9 _ -")
    if slash and kind not in DEVICE_KINDS:
        raise InjectionError(
            text, f"{kind} takes no device (only {', '.join(sorted(DEVICE_KINDS))} do)"
        )
    home, plus, offset_text = rest.partition("+")
    if not _ID.fullmatch(home):
        raise InjectionError(text, "home id must be 1-64 of A-Z a-z 0-9 _ -")
    try:
        offset = parse_duration(offset_text, what="offset") if plus else timedelta(0)
    except ValueError as error:
        raise InjectionError(text, str(error)) from None
    return Injection(
        kind=cast(InjectionKind, kind),
        home_id=home,
        offset=offset,
        device_id=device if slash else None,
    )


def coerce_injection(value: object) -> object:
    """Let models accept injections as text: strings are parsed, anything else passes on."""
    return parse_injection(value) if isinstance(value, str) else value
