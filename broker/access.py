"""Who may publish and subscribe where: the one rule set both brokers enforce.

`broker.mosquitto` renders it as an ACL file, `broker.embedded` checks it in
amqtt plugins; keeping it here, pure, keeps the two from drifting apart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from devices.credentials import hash_password
from devices.registry import Device
from devices.topics import ROOT, STATUS_FILTER, TELEMETRY_FILTER, is_valid_id, status_topic
from devices.topics import telemetry_topic as _telemetry_topic

DEFAULT_SERVICE_USERNAME: Final = "anxin-gateway"
OFFERS_FILTER: Final = f"{ROOT}/workers/+/offers"

SERVICE_READ_FILTERS: Final = (TELEMETRY_FILTER, STATUS_FILTER)
"""What a service account may subscribe to and receive (also through `$share/{group}/...`)."""

SERVICE_WRITE_FILTERS: Final = (OFFERS_FILTER,)
"""Where a service account may publish."""

_SHARE_PREFIX: Final = "$share/"


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """A platform account on the broker (the gateway, the dispatcher), not a device."""

    username: str
    password_hash: str = field(repr=False)

    def __post_init__(self) -> None:
        # The id grammar keeps `:` and whitespace out, which the password and ACL files need.
        if not is_valid_id(self.username):
            raise ValueError(f"not a valid service account name: {self.username!r}")
        if not self.password_hash.startswith("$7$"):
            raise ValueError("password_hash must be a Mosquitto $7$ hash")

    @classmethod
    def with_password(cls, username: str, password: str) -> ServiceAccount:
        """An account from its plaintext password, hashed at once."""
        if not password:
            raise ValueError("a service account needs a password")
        return cls(username=username, password_hash=hash_password(password))


@dataclass(frozen=True, slots=True)
class DevicePrincipal:
    """An authenticated device: it speaks only for itself, in its own home."""

    device_id: str
    home_id: str


@dataclass(frozen=True, slots=True)
class ServicePrincipal:
    """An authenticated service account."""

    username: str


Principal = DevicePrincipal | ServicePrincipal


def device_topics(home_id: str, device_id: str) -> tuple[str, str]:
    """The only topics a device may publish on: its telemetry and its status."""
    return _telemetry_topic(home_id, device_id), status_topic(home_id, device_id)


def broker_devices(devices: Iterable[Device], accounts: Iterable[ServiceAccount]) -> list[Device]:
    """The devices that get a broker login, sorted by id.

    A device whose id is also a service account's name gets none: the service
    account wins, so a device can never be provisioned into the gateway's rights.
    """
    reserved = {account.username for account in accounts}
    chosen = {d.device_id: d for d in devices if d.device_id not in reserved}
    return [chosen[device_id] for device_id in sorted(chosen)]


def may_publish(principal: Principal, topic: str) -> bool:
    if isinstance(principal, DevicePrincipal):
        return topic in device_topics(principal.home_id, principal.device_id)
    return any(topic_matches(allowed, topic) for allowed in SERVICE_WRITE_FILTERS)


def may_receive(principal: Principal, topic: str) -> bool:
    if isinstance(principal, DevicePrincipal):
        return False
    return any(topic_matches(allowed, topic) for allowed in SERVICE_READ_FILTERS)


def may_subscribe(principal: Principal, topic_filter: str) -> bool:
    """Whether every topic `topic_filter` can match is one the principal may receive."""
    if isinstance(principal, DevicePrincipal):
        return False
    plain = unshared(topic_filter)
    if plain is None or not is_valid_filter(plain):
        return False
    return any(filter_within(plain, allowed) for allowed in SERVICE_READ_FILTERS)


def unshared(topic_filter: str) -> str | None:
    """`$share/{group}/{filter}` -> `filter`; a plain filter unchanged; None if malformed."""
    if not topic_filter.startswith(_SHARE_PREFIX):
        return topic_filter
    group, _, plain = topic_filter[len(_SHARE_PREFIX) :].partition("/")
    if not group or not plain or any(c in group for c in "+#"):
        return None
    return plain


def is_valid_filter(topic_filter: str) -> bool:
    """MQTT 3.1.1 §4.7.1: `+` fills a whole level, `#` only the whole last one."""
    if not topic_filter:
        return False
    levels = topic_filter.split("/")
    for index, level in enumerate(levels):
        if level == "#":
            if index != len(levels) - 1:
                return False
        elif level != "+" and ("+" in level or "#" in level):
            return False
    return True


def topic_matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic matching; a topic starting with `$` needs a literal first filter level."""
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for index, level in enumerate(filter_levels):
        if level == "#":
            return True
        if index >= len(topic_levels):
            return False
        if level != "+" and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)


def filter_within(inner: str, outer: str) -> bool:
    """Whether every topic that filter `inner` matches is also matched by filter `outer`."""
    inner_levels = inner.split("/")
    outer_levels = outer.split("/")
    for index, level in enumerate(outer_levels):
        if level == "#":
            return True
        if index >= len(inner_levels):
            return False
        wanted = inner_levels[index]
        if wanted == "#":
            return False
        if level != "+" and level != wanted:
            return False
    return len(inner_levels) == len(outer_levels)
