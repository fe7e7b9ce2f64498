"""The MQTT 3.1.1 codec of gateway.mqtt: encoders, and the incremental decoder on whole,
coalesced, fragmented and hostile input."""

from __future__ import annotations

import dataclasses
import random

import pytest

from gateway.mqtt_codec import (
    Decoder,
    MqttError,
    MqttMessage,
    Packet,
    Will,
    encode_connect,
    encode_pubacks,
    encode_publish,
    encode_remaining_length,
    encode_subscribe,
)

CONNACK_OK = b"\x20\x02\x00\x00"
TELEMETRY = "anxin/v1/homes/h1/devices/d1/telemetry"


def decode_varint(raw: bytes) -> int:
    return sum((byte & 0x7F) << (7 * i) for i, byte in enumerate(raw))


def feed_all(decoder: Decoder, *chunks: bytes) -> tuple[list[MqttMessage], list[Packet]]:
    messages: list[MqttMessage] = []
    control: list[Packet] = []
    for chunk in chunks:
        control += decoder.feed(chunk, messages)
    return messages, control


class TestRemainingLength:
    @pytest.mark.parametrize(
        ("length", "size"),
        [
            (0, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (2_097_151, 3),
            (2_097_152, 4),
            (268_435_455, 4),
        ],
    )
    def test_round_trips_at_every_size_boundary(self, length: int, size: int) -> None:
        raw = encode_remaining_length(length)
        assert len(raw) == size
        assert decode_varint(raw) == length

    @pytest.mark.parametrize("length", [-1, 268_435_456])
    def test_refuses_lengths_mqtt_cannot_express(self, length: int) -> None:
        with pytest.raises(ValueError, match="remaining length"):
            encode_remaining_length(length)

    @pytest.mark.parametrize("length", [3, 127, 128, 16_383, 16_384, 2_097_152])
    def test_decoder_reads_each_varint_size(self, length: int) -> None:
        packet = encode_publish("t", b"p" * (length - 3), qos=0)
        messages, _ = feed_all(Decoder(), packet + b"\xd0\x00")
        assert len(messages[0].payload) == length - 3


class TestEncoders:
    def test_connect_matches_the_specification_layout(self) -> None:
        raw = encode_connect("gw", username="u", password="p", clean_session=True, keepalive=60)
        assert raw == (b"\x10\x14\x00\x04MQTT\x04\xc2\x00\x3c\x00\x02gw\x00\x01u\x00\x01p")

    def test_connect_carries_the_will_with_its_qos_and_retain_flags(self) -> None:
        will = Will("anxin/v1/gateway/status", b"offline", qos=1, retain=True)
        raw = encode_connect("gw", will=will, keepalive=30)
        assert raw[9] == 0x04 | 0x08 | 0x20
        assert raw.endswith(b"\x00\x02gw\x00\x17anxin/v1/gateway/status\x00\x07offline")

    def test_connect_refuses_a_password_without_user_name(self) -> None:
        with pytest.raises(ValueError, match="user name"):
            encode_connect("gw", password="secret")

    def test_subscribe_lists_filters_with_their_qos(self) -> None:
        raw = encode_subscribe(7, [("a/+", 1), ("b/#", 0)])
        assert raw == b"\x82\x0e\x00\x07\x00\x03a/+\x01\x00\x03b/#\x00"

    def test_subscribe_refuses_qos_2(self) -> None:
        with pytest.raises(ValueError, match="QoS 2"):
            encode_subscribe(1, [("a", 2)])

    def test_pubacks_are_concatenated_for_one_write(self) -> None:
        assert encode_pubacks([1, 0x1234, 65535]) == (
            b"\x40\x02\x00\x01\x40\x02\x12\x34\x40\x02\xff\xff"
        )

    def test_publish_sets_qos_retain_and_dup_bits(self) -> None:
        raw = encode_publish("a/b", b"x", qos=1, retain=True, packet_id=9, dup=True)
        assert raw == b"\x3b\x08\x00\x03a/b\x00\x09x"

    def test_publish_at_qos_1_needs_a_packet_id(self) -> None:
        with pytest.raises(ValueError, match="packet id"):
            encode_publish("a", b"", qos=1)

    @pytest.mark.parametrize("topic", ["", "a/+", "a/#"])
    def test_will_refuses_what_cannot_be_published(self, topic: str) -> None:
        with pytest.raises(ValueError, match="topic"):
            Will(topic, b"offline")


class TestDecoder:
    def test_a_qos_1_publish_becomes_an_unacked_message_of_the_session(self) -> None:
        decoder = Decoder(session=3)
        raw = encode_publish(TELEMETRY, b'{"seq":1}', qos=1, packet_id=42)
        messages, control = feed_all(decoder, raw)
        expected = MqttMessage(TELEMETRY, b'{"seq":1}', 1, False, 42, 3)
        assert messages == [expected]
        assert control == []
        assert decoder.unacked == {42: expected}

    def test_a_qos_0_retained_publish_has_no_packet_id_and_is_not_tracked(self) -> None:
        decoder = Decoder()
        messages, _ = feed_all(decoder, encode_publish("s", b"online", retain=True))
        assert messages == [MqttMessage("s", b"online", 0, True, None, 0)]
        assert decoder.unacked == {}

    def test_messages_are_genuine_frozen_mqtt_messages(self) -> None:
        messages, _ = feed_all(Decoder(), encode_publish("t", b"x", qos=1, packet_id=1))
        message = messages[0]
        assert type(message) is MqttMessage
        assert hash(message) == hash(MqttMessage("t", b"x", 1, False, 1, 0))
        with pytest.raises(dataclasses.FrozenInstanceError):
            message.topic = "other"  # type: ignore[misc]

    def test_an_empty_payload_is_a_message(self) -> None:
        messages, _ = feed_all(Decoder(), encode_publish("t", b"", qos=1, packet_id=5))
        assert messages[0].payload == b""

    def test_control_packets_are_returned_in_order(self) -> None:
        stream = CONNACK_OK + b"\x40\x02\x00\x05" + b"\x90\x04\x00\x06\x01\x80" + b"\xd0\x00"
        messages, control = feed_all(Decoder(), stream)
        assert messages == []
        assert control == [
            Packet(2, b"\x00\x00"),
            Packet(4, b"\x00\x05"),
            Packet(9, b"\x00\x06\x01\x80"),
            Packet(13, b""),
        ]

    def test_many_packets_in_one_read_are_all_parsed(self) -> None:
        packets = [
            encode_publish(TELEMETRY, b"%d" % i, qos=1, packet_id=i + 1) for i in range(1000)
        ]
        messages, _ = feed_all(Decoder(), b"".join(packets))
        assert [m.payload for m in messages] == [b"%d" % i for i in range(1000)]

    def test_every_split_point_gives_the_same_result(self) -> None:
        stream = CONNACK_OK + b"".join(
            encode_publish(f"t/{i}", bytes(range(i * 40 % 256)) * 3, qos=i % 2, packet_id=i + 1)
            for i in range(6)
        )
        whole, whole_control = feed_all(Decoder(), stream)
        for cut in range(1, len(stream)):
            assert feed_all(Decoder(), stream[:cut], stream[cut:]) == (whole, whole_control)

    def test_byte_by_byte_input_gives_the_same_result(self) -> None:
        stream = b"".join(
            encode_publish("t", b"y" * n, qos=1, packet_id=n + 1)
            for n in (0, 1, 125, 126, 200, 20_000)
        )
        decoder = Decoder()
        messages, _ = feed_all(decoder, *(stream[i : i + 1] for i in range(len(stream))))
        assert [len(m.payload) for m in messages] == [0, 1, 125, 126, 200, 20_000]
        assert decoder.buffered == 0

    def test_a_large_payload_arrives_in_chunks_without_a_cap(self) -> None:
        payload = random.Random(1).randbytes(3_000_000)
        stream = encode_publish("big", payload, qos=1, packet_id=1) + b"\xd0\x00"
        chunks = [stream[i : i + 65_536] for i in range(0, len(stream), 65_536)]
        decoder = Decoder()
        messages, control = feed_all(decoder, *chunks)
        assert messages[0].payload == payload
        assert control == [Packet(13, b"")]

    def test_a_topic_that_is_not_utf8_is_delivered_with_replacement_characters(self) -> None:
        raw = b"\x32\x0d\x00\x07home/\xff\xfe\x00\x01{}"
        messages, _ = feed_all(Decoder(), raw + b"\xd0\x00")
        assert messages == [MqttMessage("home/\ufffd\ufffd", b"{}", 1, False, 1, 0)]


class TestHostileInput:
    @pytest.mark.parametrize(
        ("stream", "reason"),
        [
            (b"\x00\x00", "unexpected packet"),  # reserved type 0
            (b"\xf0\x00", "unexpected packet"),  # reserved type 15
            (b"\x10\x00", "unexpected packet"),  # CONNECT is client to broker only
            (b"\xc0\x00", "unexpected packet"),  # PINGREQ likewise
            (b"\x21\x02\x00\x00", "unexpected packet"),  # CONNACK with reserved flags set
            (b"\x20\x03\x00\x00\x00", "malformed packet"),  # CONNACK of the wrong size
            (b"\x90\x02\x00\x01", "malformed packet"),  # SUBACK without a return code
            (b"\x30\xff\xff\xff\xff\x01", "remaining length"),  # a five-byte varint
            (b"\x30\x01\x00", "shorter than"),
            (b"\x30\x04\x00\x09ab", "runs past"),  # topic length beyond the packet
            (b"\x32\x04\x00\x02ab", "runs past"),  # QoS 1 without room for a packet id
            (b"\x32\x05\x00\x01a\x00\x00", "packet id 0"),
            (b"\x34\x05\x00\x01a\x00\x01", "QoS 2"),
            (b"\x36\x05\x00\x01a\x00\x01", "QoS 3"),
        ],
    )
    def test_a_malformed_packet_raises(self, stream: bytes, reason: str) -> None:
        with pytest.raises(MqttError, match=reason):
            feed_all(Decoder(), CONNACK_OK + stream)

    def test_random_garbage_raises_mqtt_error_and_never_anything_else(self) -> None:
        generator = random.Random(20_260_101)
        raised = 0
        for _ in range(3000):
            garbage = generator.randbytes(generator.randint(1, 400))
            decoder = Decoder()
            messages: list[MqttMessage] = []
            try:
                for i in range(0, len(garbage), 37):
                    decoder.feed(garbage[i : i + 37], messages)
            except MqttError:
                raised += 1
            else:
                # Not rejected yet only while it may be a prefix of a large packet.
                assert decoder.buffered > 0 or messages or len(garbage) < 2
        assert raised > 2800  # the rest announce a PUBLISH longer than what followed

    def test_a_valid_prefix_before_garbage_keeps_its_messages(self) -> None:
        decoder = Decoder()
        messages: list[MqttMessage] = []
        good = encode_publish("t", b"ok", qos=1, packet_id=1)
        with pytest.raises(MqttError):
            decoder.feed(good + b"\x00\x00", messages)
        assert [m.payload for m in messages] == [b"ok"]
