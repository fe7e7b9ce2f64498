"""MQTT 3.1.1 packets as bytes, both ways: the pure half of the gateway's client.

Encoders build the few packets the client sends; `Decoder.feed` turns whatever a
socket read delivered (many packets, or a fragment of one) into messages and
control packets, with no I/O, so every hostile byte stream can be tried against it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple, cast

__all__ = [
    "Decoder",
    "MqttError",
    "MqttMessage",
    "Packet",
    "Will",
    "encode_connect",
    "encode_pubacks",
    "encode_publish",
    "encode_remaining_length",
    "encode_subscribe",
]

CONNACK: Final = 2
PUBLISH: Final = 3
PUBACK: Final = 4
SUBACK: Final = 9
PINGRESP: Final = 13

MAX_REMAINING_LENGTH: Final = 268_435_455
PINGREQ_PACKET: Final = b"\xc0\x00"
DISCONNECT_PACKET: Final = b"\xe0\x00"

CONNACK_REFUSALS: Final = {
    1: "unacceptable protocol version",
    2: "client identifier rejected",
    3: "server unavailable",
    4: "bad user name or password",
    5: "not authorised",
}
# Fixed header byte -> body length of the packets a broker may send this client (-1: a
# SUBACK, 3 bytes or more). Anything else is an error, so garbage is refused at once.
_CONTROL_PACKETS: Final = {0x20: 2, 0x40: 2, 0x90: -1, 0xD0: 0}


class MqttError(Exception):
    """The one error of this module: refused, lost, timed out, or a protocol violation."""

    def __init__(self, message: str, *, return_code: int | None = None) -> None:
        super().__init__(message)
        self.return_code = return_code
        """The CONNACK return code when the broker refused the connection."""


@dataclass(frozen=True, slots=True)
class MqttMessage:
    """One received PUBLISH; `session` says which connection may acknowledge it."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    packet_id: int | None
    session: int


class _NewMessage:
    """Builds an `MqttMessage` at a third of the cost of its frozen `__init__`.

    A frozen dataclass sets each field through `object.__setattr__` (0.75 us for six
    fields); this twin has the same slots, sets them directly, then becomes an
    `MqttMessage` (a documented `__class__` assignment between identical slot layouts).
    """

    __slots__ = ("packet_id", "payload", "qos", "retain", "session", "topic")

    def __init__(
        self,
        topic: str,
        payload: bytes,
        qos: int,
        retain: bool,
        packet_id: int | None,
        session: int,
    ) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.packet_id = packet_id
        self.session = session
        self.__class__ = MqttMessage  # type: ignore[assignment]


# What calling the twin returns, for the type checker.
_new_message = cast("Callable[[str, bytes, int, bool, int | None, int], MqttMessage]", _NewMessage)


@dataclass(frozen=True)
class Will:
    """The last will the broker publishes when the connection drops without DISCONNECT."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True

    def __post_init__(self) -> None:
        check_topic(self.topic)
        if self.qos not in (0, 1, 2):
            raise ValueError(f"will QoS must be 0, 1 or 2, not {self.qos}")


class Packet(NamedTuple):
    """A control packet from the broker other than PUBLISH: its type and body."""

    type: int
    body: bytes


# --- encoding ------------------------------------------------------------------------


def encode_remaining_length(length: int) -> bytes:
    """The fixed header's variable-length integer (1 to 4 bytes, 7 bits each)."""
    if not 0 <= length <= MAX_REMAINING_LENGTH:
        raise ValueError(f"remaining length {length} outside 0..{MAX_REMAINING_LENGTH}")
    out = bytearray()
    while length > 0x7F:
        out.append(length & 0x7F | 0x80)
        length >>= 7
    out.append(length)
    return bytes(out)


def _string(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    if len(raw) > 0xFFFF:
        raise ValueError("an MQTT string or binary field holds at most 65,535 bytes")
    return len(raw).to_bytes(2, "big") + raw


def _packet(header: int, body: bytes) -> bytes:
    return bytes((header,)) + encode_remaining_length(len(body)) + body


def check_topic(topic: str) -> None:
    if not topic or "+" in topic or "#" in topic:
        raise ValueError(f"not a topic name to publish on: {topic!r}")


def encode_connect(
    client_id: str,
    *,
    username: str | None = None,
    password: str | None = None,
    clean_session: bool = False,
    keepalive: int = 30,
    will: Will | None = None,
) -> bytes:
    """A CONNECT packet for protocol level 4 (MQTT 3.1.1)."""
    if password is not None and username is None:
        raise ValueError("MQTT 3.1.1 sends a password only with a user name")
    if not 0 <= keepalive <= 0xFFFF:
        raise ValueError(f"keepalive {keepalive} outside 0..65535 s")
    flags = 0x02 if clean_session else 0
    payload = _string(client_id)
    if will is not None:
        flags |= 0x04 | will.qos << 3 | (0x20 if will.retain else 0)
        payload += _string(will.topic) + _string(will.payload)
    if username is not None:
        flags |= 0x80
        payload += _string(username)
    if password is not None:
        flags |= 0x40
        payload += _string(password)
    header = b"\x00\x04MQTT\x04" + bytes((flags,)) + keepalive.to_bytes(2, "big")
    return _packet(0x10, header + payload)


def encode_subscribe(packet_id: int, filters: Sequence[tuple[str, int]]) -> bytes:
    """A SUBSCRIBE packet; QoS 2 is refused because this client does not do its handshake."""
    if not filters:
        raise ValueError("SUBSCRIBE needs at least one topic filter")
    body = packet_id.to_bytes(2, "big")
    for topic_filter, qos in filters:
        if qos not in (0, 1):
            raise ValueError(f"subscribe at QoS 0 or 1 (QoS 2 is not supported), not {qos}")
        body += _string(topic_filter) + bytes((qos,))
    return _packet(0x82, body)


def encode_publish(
    topic: str,
    payload: bytes,
    *,
    qos: int = 0,
    retain: bool = False,
    packet_id: int | None = None,
    dup: bool = False,
) -> bytes:
    """A PUBLISH packet (also what a broker sends, so tests feed it to the `Decoder`)."""
    header = 0x30 | qos << 1 | (0x08 if dup else 0) | (0x01 if retain else 0)
    body = _string(topic)
    if qos:
        if packet_id is None or not 0 < packet_id <= 0xFFFF:
            raise ValueError("a QoS 1 or 2 PUBLISH needs a packet id in 1..65535")
        body += packet_id.to_bytes(2, "big")
    return _packet(header, body + payload)


def encode_pubacks(packet_ids: Sequence[int]) -> bytes:
    """PUBACKs for many packet ids, back to back, to go out in one write."""
    return struct.pack(f">{len(packet_ids)}I", *[0x40020000 | pid for pid in packet_ids])


# --- decoding ------------------------------------------------------------------------


class Decoder:
    """Incremental parser of what a broker sends on one connection.

    `feed` takes any socket read: many packets, or a piece of one. It parses every whole
    packet in one loop over the `bytes` (no per-byte Python work beyond the header) and
    keeps an incomplete tail; a tail waiting for a large packet is collected as chunks and
    joined once, so a big payload costs linear time. Malformed input raises `MqttError`.
    """

    __slots__ = ("_chunks", "_have", "_need", "session", "unacked")

    def __init__(self, session: int = 0) -> None:
        self.session = session
        self.unacked: dict[int, MqttMessage] = {}
        """QoS 1 messages decoded and not yet acknowledged, by packet id."""
        self._chunks: list[bytes] = []
        self._have = 0
        self._need = 0

    @property
    def buffered(self) -> int:
        """Bytes held of a packet not yet complete."""
        return self._have

    def feed(self, data: bytes, messages: list[MqttMessage]) -> list[Packet]:
        """Append the PUBLISHes in `data` to `messages`; return the other packets."""
        if self._chunks:
            self._chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return []
            data = b"".join(self._chunks)
            self._chunks = []
            self._have = 0
        control: list[Packet] = []
        append = messages.append
        unacked = self.unacked
        session = self.session
        new = _new_message
        end = len(data)
        pos = 0
        need = 0
        while pos < end:
            header = data[pos]
            if header & 0xF0 != 0x30 and header not in _CONTROL_PACKETS:
                raise MqttError(f"unexpected packet from the broker (header 0x{header:02x})")
            if pos + 1 == end:
                need = 2
                break
            byte = data[pos + 1]
            if byte < 0x80:
                length = byte
                start = pos + 2
            else:
                length = byte & 0x7F
                start = pos + 2
                shift = 7
                while start < end:
                    byte = data[start]
                    start += 1
                    length |= (byte & 0x7F) << shift
                    if byte < 0x80:
                        break
                    if shift == 21:
                        raise MqttError("malformed remaining length (more than 4 bytes)")
                    shift += 7
                else:
                    need = end - pos + 1
                    break
            stop = start + length
            if header & 0xF0 == 0x30:
                if stop > end:
                    need = stop - pos
                    break
                if length < 2:
                    raise MqttError("PUBLISH shorter than its topic length")
                topic_end = start + 2 + (data[start] << 8 | data[start + 1])
                qos_bits = header & 0x06
                if qos_bits == 0x02:
                    if topic_end + 2 > stop:
                        raise MqttError("PUBLISH topic runs past the packet")
                    packet_id = data[topic_end] << 8 | data[topic_end + 1]
                    if not packet_id:
                        raise MqttError("QoS 1 PUBLISH with packet id 0")
                    raw = data[start + 2 : topic_end]
                    try:
                        topic = raw.decode()
                    except UnicodeDecodeError:
                        topic = raw.decode("utf-8", "replace")
                    message = new(
                        topic,
                        data[topic_end + 2 : stop],
                        1,
                        header & 1 == 1,
                        packet_id,
                        session,
                    )
                    unacked[packet_id] = message
                    append(message)
                elif qos_bits == 0:
                    if topic_end > stop:
                        raise MqttError("PUBLISH topic runs past the packet")
                    raw = data[start + 2 : topic_end]
                    try:
                        topic = raw.decode()
                    except UnicodeDecodeError:
                        topic = raw.decode("utf-8", "replace")
                    append(new(topic, data[topic_end:stop], 0, header & 1 == 1, None, session))
                elif qos_bits == 0x04:
                    raise MqttError("QoS 2 PUBLISH, but this client subscribes at QoS 0 or 1")
                else:
                    raise MqttError("PUBLISH with QoS 3")
            else:
                expected = _CONTROL_PACKETS[header]
                if length != expected and (expected >= 0 or length < 3):
                    raise MqttError(f"malformed packet (header 0x{header:02x}, {length} bytes)")
                if stop > end:
                    need = stop - pos
                    break
                control.append(Packet(header >> 4, data[start:stop]))
            pos = stop
        if pos < end:
            self._chunks.append(data[pos:])
            self._have = end - pos
            self._need = need
        return control
