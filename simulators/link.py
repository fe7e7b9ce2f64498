"""One simulated device's MQTT connection: a paho client whose socket asyncio watches.

The client runs without paho's network thread. Its callbacks may fire on a
connect thread (paho's blocking TCP connect runs in an executor), so
anything touching the event loop goes through `LinkOwner.call`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.topics import status_topic, telemetry_topic

ONLINE: Final = b"online"
OFFLINE: Final = b"offline"


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str = "127.0.0.1"
    port: int = 1883
    keepalive_s: int = 60


class LinkOwner(Protocol):
    """What a link reports to, and the loop it runs on."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    def call(self, function: Callable[..., None], *args: Any) -> None:
        """Run `function(*args)` on the loop's thread."""

    def link_connected(self, link: DeviceLink, *, first: bool) -> None: ...

    def link_disconnected(self, link: DeviceLink) -> None: ...

    def link_lost(self, link: DeviceLink) -> None:
        """The connection dropped or failed: schedule a reconnect."""

    def link_refused(self) -> None: ...

    def link_acked(self) -> None: ...

    def link_wants_write(self, link: DeviceLink) -> None: ...

    def socket_opened(self) -> None: ...

    def socket_closed(self) -> None: ...


class DeviceLink:
    """One device's connection: a paho client whose socket the asyncio loop watches."""

    def __init__(
        self,
        owner: LinkOwner,
        *,
        device_id: str,
        home_id: str,
        password: str | None,
        address: BrokerAddress,
        inflight: int,
    ) -> None:
        self.owner = owner
        self.device_id = device_id
        self.telemetry_topic = telemetry_topic(home_id, device_id)
        self.status_topic = status_topic(home_id, device_id)
        self.connected = False
        self.ever_connected = False
        self.finished = False  # closed on purpose or crashed: never reconnect
        self.attempts = 0
        self.sent = 0
        self.acked = 0
        self.last_error = ""
        self._fd: int | None = None
        self._writing = False
        self._status_mids: set[int] = set()
        self.settled = asyncio.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=device_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        client.suppress_exceptions = True
        client.username_pw_set(device_id, password)
        client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        client.max_inflight_messages_set(inflight)
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        client.connect_async(address.host, address.port, address.keepalive_s)
        self.client = client

    # paho callbacks: may run in a connect thread, so loop work goes through the owner.

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            self.last_error = str(reason)
            self.owner.call(self.owner.link_refused)
            return
        self.connected = True
        self.attempts = 0
        self.owner.link_connected(self, first=not self.ever_connected)
        self.ever_connected = True
        info = client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        self._status_mids.add(info.mid)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        was_connected, self.connected = self.connected, False
        if was_connected:
            self.owner.link_disconnected(self)
        if not self.finished:
            self.last_error = str(reason)
            self.owner.call(self.owner.link_lost, self)

    def _on_publish(self, _c: Any, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        if mid in self._status_mids:
            self._status_mids.discard(mid)
            return
        self.acked += 1
        if self.acked >= self.sent:
            self.settled.set()
        self.owner.link_acked()

    def _on_socket_open(self, _c: Any, _u: Any, sock: Any) -> None:
        self.owner.call(self.watch, sock.fileno())

    def _on_socket_close(self, _c: Any, _u: Any, _sock: Any) -> None:
        self.owner.call(self.unwatch)

    def _on_register_write(self, _c: Any, _u: Any, _sock: Any) -> None:
        self.owner.call(self.owner.link_wants_write, self)

    def _on_unregister_write(self, _c: Any, _u: Any, _sock: Any) -> None:
        self.owner.call(self._stop_writing)

    # loop-thread only

    def watch(self, fd: int) -> None:
        self.unwatch()
        self._fd = fd
        self.owner.loop.add_reader(fd, self.client.loop_read)
        self.owner.socket_opened()

    def unwatch(self) -> None:
        if self._fd is not None:
            self.owner.loop.remove_reader(self._fd)
            self._stop_writing()
            self._fd = None
            self.owner.socket_closed()

    def _stop_writing(self) -> None:
        if self._writing and self._fd is not None:
            self.owner.loop.remove_writer(self._fd)
        self._writing = False

    def flush(self) -> None:
        """Write what paho has queued; leave the rest to a writer callback if the socket is full."""
        if self._writing or self._fd is None:
            return
        self.client.loop_write()
        if self.client.want_write() and self._fd is not None and not self.finished:
            self._writing = True
            self.owner.loop.add_writer(self._fd, self.client.loop_write)

    def publish(self, payload: bytes) -> None:
        self.client.publish(self.telemetry_topic, payload, qos=1)
        self.sent += 1

    def crash(self) -> int:
        """Drop the connection the way a dead device does: no DISCONNECT, so the will fires."""
        self.finished = True
        self.connected = False
        sock = self.client.socket()
        self.unwatch()
        if sock is not None:
            sock.close()
        return self.sent - self.acked
