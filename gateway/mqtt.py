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
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Self

from gateway.mqtt_codec import (
    CONNACK,
    CONNACK_REFUSALS,
    DISCONNECT_PACKET,
    PINGREQ_PACKET,
    PINGRESP,
    PUBACK,
    SUBACK,
    Decoder,
    MqttError,
    MqttMessage,
    Packet,
    Will,
    check_topic,
    encode_connect,
    encode_publish,
    encode_subscribe,
)

__all__ = ["MqttClient", "MqttError", "MqttMessage", "Will"]

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
        # While an answer (SUBACK, PUBACK) is awaited, keep reading past the window:
        # it may be queued behind a backlog, and pausing would wait for it forever.
        if (
            not self.reading_paused
            and not self.requests
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
        if self.reading_paused and self.transport is not None and not self.ended:
            # The answer arrives behind whatever is unread: read on until it comes.
            self.reading_paused = False
            self.last_received = time.monotonic()
            self.transport.resume_reading()
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
                reason = CONNACK_REFUSALS.get(code, "unknown reason")
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
        receive_window: int = 10_000,
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
        check_topic(topic)
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
