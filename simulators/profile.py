"""Device profiles: which of each simulated home's devices are actually simulated.

A full home has 15 devices, each its own MQTT connection (CONTRACT §1), so a
large fleet can outgrow a machine's file descriptors or a small broker long
before its message rate matters; a profile such as `("wearable",)` (a smart
watch only) keeps one connection per home. The generator still plays the whole
home (its routine is one story across every sensor); the shell drops the
messages of devices outside the profile and provisions only the devices in it,
so the registry, the broker and the detectors see exactly the simulated ones.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Final, get_args

from simulators.errors import SimulatorError
from simulators.fleet import FleetHome, Role
from simulators.injections import Injection

ROLES: Final[tuple[Role, ...]] = get_args(Role)
"""Every device role of a simulated home, in the order homes list them."""

_INJECTION_NEEDS: Final[dict[str, frozenset[Role]]] = {
    "fall": frozenset({"wearable"}),
    "sos": frozenset({"wearable"}),
    "news2": frozenset({"wearable"}),
    "inactivity": frozenset({"motion", "door", "bed"}),
    "night_wandering": frozenset({"door", "motion"}),
    "bed_exit": frozenset({"bed"}),
    "stove_unattended": frozenset({"stove", "motion"}),
    "leak": frozenset({"leak"}),
    "smoke": frozenset({"smoke"}),
    # Without a named device the scenario picks one of the quiet sensors.
    "device_offline": frozenset({"climate", "smoke", "leak"}),
}
"""The roles whose messages carry each injected condition (what a detector must see)."""


def parse_roles(text: str) -> tuple[Role, ...]:
    """`"wearable,motion"` -> `("wearable", "motion")` in home order; `"all"` -> every role.

    Raises `SimulatorError` naming the unknown role (with the closest known one).
    """
    names = [name.strip() for name in text.split(",")]
    if names == ["all"]:
        return ROLES
    if not any(names):
        raise SimulatorError(f"name at least one device role: {', '.join(ROLES)} (or all)")
    for name in names:
        if name not in ROLES:
            close = difflib.get_close_matches(name, ROLES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise SimulatorError(
                f"unknown device role {name[:40]!r}{hint}; known: {', '.join(ROLES)} (or all)"
            )
    return normalise_roles(names)


def normalise_roles(roles: Iterable[str]) -> tuple[Role, ...]:
    """Known roles in home order, each once; raises `SimulatorError` for none or unknown."""
    wanted = set(roles)
    unknown = sorted(wanted - set(ROLES))
    if unknown:
        raise SimulatorError(f"unknown device role {unknown[0]!r}; known: {', '.join(ROLES)}")
    if not wanted:
        raise SimulatorError("a profile needs at least one device role")
    return tuple(role for role in ROLES if role in wanted)


def coerce_roles(value: object) -> object:
    """Let models take roles as `"wearable,motion"` text or any sequence (a pydantic
    `BeforeValidator`): a `SimulatorError` becomes the ValueError pydantic reports."""
    try:
        if isinstance(value, str):
            return parse_roles(value)
        if isinstance(value, list | tuple | set | frozenset):
            return normalise_roles(str(role) for role in value)
    except SimulatorError as error:
        raise ValueError(str(error)) from None
    return value


def with_roles(home: FleetHome, roles: Iterable[Role]) -> FleetHome:
    """The home with only the devices of `roles` (what gets provisioned and connected)."""
    keep = frozenset(roles)
    if keep >= set(ROLES):
        return home
    return home.model_copy(
        update={"devices": tuple(device for device in home.devices if device.role in keep)}
    )


def injection_fits(injection: Injection, home: FleetHome, roles: Iterable[Role]) -> str | None:
    """Why `injection` would be invisible with only `roles` simulated, or None if it is not."""
    have = frozenset(roles)
    if injection.device_id is not None:
        role = home.device(injection.device_id).role
        missing = frozenset({role}) - have
    else:
        missing = _INJECTION_NEEDS[injection.kind] - have
    if not missing:
        return None
    return (
        f"injection {injection} needs the {', '.join(sorted(missing))} device(s), "
        f"which the profile ({', '.join(sorted(have))}) does not simulate"
    )
