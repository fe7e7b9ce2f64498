"""The gateway's only MQTT client: a small asyncio MQTT 3.1.1 client built to drain backlogs.

Why not paho-mqtt or aiomqtt: the gateway must take 30k QoS 1 readings/s and acknowledge
each only after storing it, and both libraries spend tens of microseconds per received
message (threads or callbacks, per-message locks, one PUBACK write each). Here one loop
parses a whole socket read (up to 256 KiB, about 1,000 telemetry messages) with `bytes`
slicing, messages are handed over in batches, and one write acknowledges a batch.

Deliberate limits:

- MQTT 3.1.1 only: the embedded broker (amqtt) speaks nothing newer, and Mosquitto accepts
  `$share/group/filter` shared subscriptions from 3.1.1 clients.
- Inbound QoS 0 and 1 only. `subscribe` refuses QoS 2, so a broker downgrades QoS 2
  publishes to the granted QoS 1; a QoS 2 PUBLISH anyway is a protocol error.
- No reconnecting inside: the application runs `except MqttError: sleep(backoff)` and
  calls `connect()` again. With `clean_session=False` the broker then redelivers every
  QoS 1 message not acknowledged, and `MqttMessage.session` keeps a late `ack` from the old
  connection from acknowledging a packet id the broker has since reused.
- A topic that is not valid UTF-8 is delivered decoded with errors="replace" rather than
  closing the connection: the application rejects it like any bad message and acks it, so
  it is not redelivered forever.
- No payload size cap: the broker's limit applies; the gateway enforces 16 KiB itself.

Broker settings this relies on: Mosquitto sends at most `max_inflight_messages` (default
20) unacknowledged QoS 1 messages to a client and keeps at most `max_queued_messages`
(default 1000) more for it; give the gateway's broker 0 (no limit) for both, so that a
backlog streams and `receive_window` is what bounds it.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Final, NamedTuple, Self, cast

__all__ = [
    "Decoder",
    "MqttClient",
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

_CONNACK_REFUSALS: Final = {
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
        _check_topic(self.topic)
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


def _check_topic(topic: str) -> None:
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


# --- the connection ------------------------------------------------------------------


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Connection(asyncio.Protocol):
    """One TCP connection: parses, queues messages, answers requests, keeps alive."""

    def __init__(self, session: int, *, keepalive: int, receive_window: int) -> None:
        self.loop = asyncio.get_running_loop()
        self.decoder = Decoder(session)
        self.inbox: list[MqttMessage] = []
        self.window = receive_window
        self.keepalive = keepalive
        self.transport: asyncio.Transport | None = None
        self.connack: asyncio.Future[bool] = self.loop.create_future()
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.error: MqttError | None = None
        self.ended = False
        self.clean_end = False
        self.requests: dict[int, tuple[int, asyncio.Future[bytes]]] = {}
        self.last_packet_id = 0
        self.reading_paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.fill_target = 1
        self.drained: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.last_sent = self.last_received = time.monotonic()

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.last_received = time.monotonic()
        inbox = self.inbox
        try:
            control = self.decoder.feed(data, inbox)
            for packet in control:
                self._handle(packet)
        except MqttError as exc:
            self.fail(exc)
            return
        waiter = self.waiter
        if waiter is not None and len(inbox) >= self.fill_target:
            _wake(waiter)
        if (
            not self.reading_paused
            and (len(self.decoder.unacked) > self.window or len(inbox) > self.window)
            and not self.clean_end
        ):
            assert self.transport is not None
            self.transport.pause_reading()
            self.reading_paused = True

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        if self.error is None:
            if self.clean_end:
                self.error = MqttError("disconnected")
            elif exc is None:
                self.error = MqttError("connection closed by the broker")
            else:
                self.error = MqttError(f"connection lost: {exc}")
        if self.timer is not None:
            self.timer.cancel()
        if not self.connack.done():
            self.connack.set_exception(self.error)
        for _, future in self.requests.values():
            if not future.done():
                future.set_exception(self.error)
        self.requests.clear()
        for waiting in (self.waiter, self.drained, self.closed):
            if waiting is not None:
                _wake(waiting)

    def pause_writing(self) -> None:
        self.drained = self.loop.create_future()

    def resume_writing(self) -> None:
        if self.drained is not None:
            _wake(self.drained)
            self.drained = None

    # the client's side

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing() and not self.clean_end:
            transport.write(data)
            self.last_sent = time.monotonic()

    def fail(self, error: MqttError) -> None:
        """End the connection because of `error` (batches() and waiters will raise it)."""
        if self.error is None:
            self.error = error
        if self.transport is not None:
            self.transport.abort()

    def new_packet_id(self) -> int:
        for _ in range(0xFFFF):
            self.last_packet_id = self.last_packet_id % 0xFFFF + 1
            if self.last_packet_id not in self.requests:
                return self.last_packet_id
        raise MqttError("all 65,535 packet ids are awaiting an answer")

    def request(self, packet_id: int, answer: int) -> asyncio.Future[bytes]:
        future: asyncio.Future[bytes] = self.loop.create_future()
        self.requests[packet_id] = (answer, future)
        return future

    async def wait_for(self, count: int, linger: float | None) -> None:
        """Wait until the inbox holds `count` messages, `linger` seconds pass, or the end."""
        waiter = self.waiter = self.loop.create_future()
        self.fill_target = count
        handle = None if linger is None else self.loop.call_later(linger, _wake, waiter)
        try:
            await waiter
        finally:
            self.waiter = None
            if handle is not None:
                handle.cancel()

    def maybe_resume(self) -> None:
        if (
            self.reading_paused
            and not self.ended
            and len(self.decoder.unacked) <= self.window
            and len(self.inbox) <= self.window
        ):
            assert self.transport is not None
            self.reading_paused = False
            # Nothing could arrive while paused: don't count that as the broker's silence.
            self.last_received = time.monotonic()
            self.transport.resume_reading()

    # inside

    def _handle(self, packet: Packet) -> None:
        kind, body = packet
        if kind == CONNACK:
            if self.connack.done():
                raise MqttError("a second CONNACK")
            code = body[1]
            if code:
                reason = _CONNACK_REFUSALS.get(code, "unknown reason")
                self.error = MqttError(f"connection refused: {reason} ({code})", return_code=code)
                self.connack.set_exception(self.error)
                assert self.transport is not None
                self.transport.close()
                return
            self.connack.set_result(body[0] & 1 == 1)
            if self.keepalive:
                self.timer = self.loop.call_later(self.keepalive / 4, self._tick)
        elif not self.connack.done():
            raise MqttError(f"packet type {kind} before CONNACK")
        elif kind != PINGRESP:
            entry = self.requests.pop(body[0] << 8 | body[1], None)
            if entry is None:
                return  # an answer to a request given up on; harmless
            answer, future = entry
            if answer != kind:
                raise MqttError(f"packet type {kind} answers a request expecting {answer}")
            if not future.done():  # its caller may have been cancelled
                future.set_result(body)

    def _tick(self) -> None:
        """Send PINGREQ when either direction has been idle half the keepalive; give up on
        a broker silent for 1.5 keepalives (it answers every PINGREQ)."""
        now = time.monotonic()
        keepalive = self.keepalive
        if not self.reading_paused and now - self.last_received > 1.5 * keepalive:
            self.fail(MqttError(f"no packet from the broker for {1.5 * keepalive:g} s"))
            return
        if now - self.last_sent >= keepalive / 2 or now - self.last_received >= keepalive / 2:
            self.write(PINGREQ_PACKET)
        self.timer = self.loop.call_later(keepalive / 4, self._tick)


# --- the client ----------------------------------------------------------------------


class MqttClient:
    """An MQTT 3.1.1 client for the gateway; one connection at a time, no auto-reconnect.

    `session` counts connections: every `connect()` starts a new one, and messages carry
    the number of the connection that received them.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        clean_session: bool = False,
        keepalive: int = 30,
        receive_window: int = 20_000,
        will: Will | None = None,
    ) -> None:
        if receive_window < 1:
            raise ValueError("receive_window must be at least 1")
        self.host = host
        self.port = port
        self.client_id = client_id
        self.receive_window = receive_window
        self.keepalive = keepalive
        self._connect_packet = encode_connect(
            client_id,
            username=username,
            password=password,
            clean_session=clean_session,
            keepalive=keepalive,
            will=will,
        )
        self._session = 0
        self._connection: _Connection | None = None

    @property
    def session(self) -> int:
        """The current (or last) connection's number; 0 before the first connect."""
        return self._session

    @property
    def connected(self) -> bool:
        """True from CONNACK until the connection ends or starts to (abort, error)."""
        connection = self._connection
        return connection is not None and not connection.ended and connection.error is None

    @property
    def unacked(self) -> int:
        """QoS 1 messages received on this connection and not yet acknowledged."""
        connection = self._connection
        return len(connection.decoder.unacked) if connection and self.connected else 0

    @property
    def reading_paused(self) -> bool:
        """True while `receive_window` holds the socket unread."""
        return self._connection is not None and self._connection.reading_paused

    async def connect(self, timeout: float = 10.0) -> bool:  # noqa: ASYNC109 (the agreed API)
        """Connect and return CONNACK's session-present flag; raise MqttError otherwise."""
        if self.connected:
            raise MqttError("already connected")
        self._session += 1
        loop = asyncio.get_running_loop()
        connection = _Connection(
            self._session, keepalive=self.keepalive, receive_window=self.receive_window
        )
        try:
            async with asyncio.timeout(timeout):
                await loop.create_connection(lambda: connection, self.host, self.port)
                connection.write(self._connect_packet)
                present = await connection.connack
        except TimeoutError:
            connection.fail(MqttError("timed out"))
            raise MqttError(
                f"no CONNACK from {self.host}:{self.port} within {timeout:g} s"
            ) from None
        except OSError as exc:
            raise MqttError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        except MqttError:
            connection.fail(MqttError("refused"))
            raise
        self._connection = connection
        return present

    def _live(self) -> _Connection:
        connection = self._connection
        if connection is None:
            raise MqttError("not connected")
        if connection.ended or connection.error is not None:
            raise connection.error or MqttError("connection lost")
        return connection

    async def subscribe(self, filters: Sequence[tuple[str, int]]) -> list[int]:
        """Subscribe at QoS 0 or 1; the granted QoS per filter (0x80: refused).

        No timeout of its own: a live broker always answers, and keepalive ends the wait
        on a dead one; wrap the call in `asyncio.timeout` for a shorter bound.
        """
        connection = self._live()
        packet_id = connection.new_packet_id()
        packet = encode_subscribe(packet_id, filters)
        answer = connection.request(packet_id, SUBACK)
        connection.write(packet)
        try:
            body = await answer
        finally:
            connection.requests.pop(packet_id, None)
        granted = list(body[2:])
        if len(granted) != len(filters):
            connection.fail(MqttError("SUBACK does not answer every filter"))
            raise MqttError(f"SUBACK grants {len(granted)} QoS for {len(filters)} filters")
        return granted

    async def batches(
        self, max_messages: int = 5000, linger: float = 0.005
    ) -> AsyncIterator[list[MqttMessage]]:
        """Received PUBLISHes in arrival order, in lists of at most `max_messages`.

        A batch is handed over `linger` seconds after its first message arrived, or as soon
        as it is full. Messages already received are still yielded after the connection
        ends; then a lost connection raises MqttError and a clean `disconnect()` stops.
        """
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        connection = self._live()
        while True:
            if not connection.inbox:
                if connection.ended:
                    if connection.clean_end:
                        return
                    raise connection.error or MqttError("connection lost")
                await connection.wait_for(1, None)
                continue
            if len(connection.inbox) < max_messages and linger > 0 and not connection.ended:
                await connection.wait_for(max_messages, linger)
            inbox = connection.inbox
            if len(inbox) <= max_messages:
                batch = inbox
                connection.inbox = []
            else:
                batch = inbox[:max_messages]
                del inbox[:max_messages]
            connection.maybe_resume()
            yield batch

    def ack(self, messages: Sequence[MqttMessage]) -> None:
        """PUBACK the QoS 1 messages of this connection in one write; skip everything else.

        A message is acknowledged once at most: only while it is still the unacknowledged
        holder of its packet id, so an ack from an old connection, or a repeated one after
        the broker reused the id, cannot confirm a message that was never stored.
        """
        connection = self._connection
        if connection is None or connection.ended:
            return
        unacked = connection.decoder.unacked
        pop = unacked.pop
        words: list[int] = []
        append = words.append
        for message in messages:
            packet_id = message.packet_id
            if packet_id is not None:
                held = pop(packet_id, None)
                if held is message:
                    append(0x40020000 | packet_id)
                elif held is not None:
                    unacked[packet_id] = held
        if words:
            connection.write(struct.pack(f">{len(words)}I", *words))
            connection.maybe_resume()

    async def publish(
        self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False
    ) -> None:
        """Publish at QoS 0 (written) or 1 (returns when the broker's PUBACK arrives).

        A QoS 1 publish pending when the connection ends raises MqttError and is not resent
        on the next connection: the caller decides whether to publish it again.
        """
        _check_topic(topic)
        if qos not in (0, 1):
            raise ValueError(f"publish at QoS 0 or 1, not {qos}")
        connection = self._live()
        if connection.drained is not None:
            await connection.drained
            connection = self._live()
        if not qos:
            connection.write(encode_publish(topic, payload, retain=retain))
            return
        packet_id = connection.new_packet_id()
        packet = encode_publish(topic, payload, qos=1, retain=retain, packet_id=packet_id)
        answer = connection.request(packet_id, PUBACK)
        connection.write(packet)
        await answer

    async def disconnect(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Send DISCONNECT (so the broker discards the will) and wait for the broker to close.

        Waiting for the broker's end, not just closing ours, is what makes acks written just
        before count: Mosquitto reads a client's packets a few at a time, and a reconnect
        arriving first takes the session over and discards the old socket's unread PUBACKs
        (the messages would be redelivered).
        """
        connection = self._connection
        if connection is None or connection.ended:
            return
        if connection.error is not None:  # already ending: abort() or a protocol error
            await asyncio.shield(connection.closed)
            return
        transport = connection.transport
        assert transport is not None
        connection.write(DISCONNECT_PACKET)
        connection.clean_end = True  # nothing more is written after this
        if connection.reading_paused:  # the broker's EOF must be seen
            connection.reading_paused = False
            transport.resume_reading()
        transport.write_eof()
        try:
            async with asyncio.timeout(timeout):
                await asyncio.shield(connection.closed)
        except TimeoutError:
            transport.abort()
            await asyncio.shield(connection.closed)

    def abort(self) -> None:
        """Drop the socket without DISCONNECT, as a crash would: the broker sends the will."""
        connection = self._connection
        if connection is not None and not connection.ended:
            connection.fail(MqttError("connection aborted by the client"))

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.disconnect()
