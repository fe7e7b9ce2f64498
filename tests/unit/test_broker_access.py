"""The broker access rules shared by the Mosquitto ACL and the embedded broker."""

from __future__ import annotations

import pytest

from broker.access import (
    DevicePrincipal,
    ServiceAccount,
    ServicePrincipal,
    broker_devices,
    filter_within,
    is_valid_filter,
    may_publish,
    may_receive,
    may_subscribe,
    topic_matches,
    unshared,
)
from devices.credentials import hash_password, verify_password
from devices.registry import Device
from devices.topics import SHARED_TELEMETRY_FILTER, STATUS_FILTER, TELEMETRY_FILTER

DEVICE = DevicePrincipal(device_id="dev-a", home_id="home-1")
SERVICE = ServicePrincipal(username="anxin-gateway")
OWN = "anxin/v1/homes/home-1/devices/dev-a/telemetry"
OWN_STATUS = "anxin/v1/homes/home-1/devices/dev-a/status"


class TestTopicMatches:
    @pytest.mark.parametrize(
        ("topic_filter", "topic", "expected"),
        [
            ("a/b", "a/b", True),
            ("a/+", "a/b", True),
            ("a/+", "a/b/c", False),
            ("a/#", "a", True),
            ("a/#", "a/b/c", True),
            ("+/+", "a", False),
            ("#", "$SYS/x", False),
            ("+/x", "$SYS/x", False),
            ("$SYS/#", "$SYS/x", True),
            (TELEMETRY_FILTER, OWN, True),
            (TELEMETRY_FILTER, OWN_STATUS, False),
        ],
    )
    def test_matches_like_mqtt(self, topic_filter: str, topic: str, expected: bool) -> None:
        assert topic_matches(topic_filter, topic) is expected


class TestFilterWithin:
    @pytest.mark.parametrize(
        ("inner", "outer", "expected"),
        [
            (TELEMETRY_FILTER, TELEMETRY_FILTER, True),
            ("anxin/v1/homes/home-1/devices/+/telemetry", TELEMETRY_FILTER, True),
            (OWN, TELEMETRY_FILTER, True),
            ("anxin/v1/homes/#", TELEMETRY_FILTER, False),
            ("#", TELEMETRY_FILTER, False),
            ("anxin/v1/homes/+/devices/+/+", TELEMETRY_FILTER, False),
            ("anxin/v1/homes/+/devices/+", TELEMETRY_FILTER, False),
            ("a", "a/#", True),
            ("a/+/#", "a/#", True),
        ],
    )
    def test_only_narrower_filters_fit(self, inner: str, outer: str, expected: bool) -> None:
        assert filter_within(inner, outer) is expected


class TestFilters:
    @pytest.mark.parametrize(
        ("topic_filter", "expected"),
        [
            ("a/+/b", True),
            ("a/#", True),
            ("#", True),
            ("a/#/b", False),
            ("a/b+", False),
            ("", False),
        ],
    )
    def test_wildcards_fill_whole_levels(self, topic_filter: str, expected: bool) -> None:
        assert is_valid_filter(topic_filter) is expected

    @pytest.mark.parametrize(
        ("topic_filter", "expected"),
        [
            (SHARED_TELEMETRY_FILTER, TELEMETRY_FILTER),
            (TELEMETRY_FILTER, TELEMETRY_FILTER),
            ("$share//a", None),
            ("$share/g", None),
            ("$share/+/a", None),
        ],
    )
    def test_unshared_strips_the_group(self, topic_filter: str, expected: str | None) -> None:
        assert unshared(topic_filter) == expected


class TestDeviceRights:
    @pytest.mark.parametrize(
        ("topic", "expected"),
        [
            (OWN, True),
            (OWN_STATUS, True),
            ("anxin/v1/homes/home-1/devices/dev-b/telemetry", False),
            ("anxin/v1/homes/home-2/devices/dev-a/telemetry", False),
            ("anxin/v1/workers/w1/offers", False),
            ("anxin/v1/homes/home-1/devices/dev-a/telemetry/x", False),
        ],
    )
    def test_a_device_publishes_only_on_its_own_topics(self, topic: str, expected: bool) -> None:
        assert may_publish(DEVICE, topic) is expected

    @pytest.mark.parametrize("topic_filter", [OWN, TELEMETRY_FILTER, "#", SHARED_TELEMETRY_FILTER])
    def test_a_device_subscribes_to_nothing(self, topic_filter: str) -> None:
        assert not may_subscribe(DEVICE, topic_filter)

    def test_a_device_receives_nothing(self) -> None:
        assert not may_receive(DEVICE, OWN)


class TestServiceRights:
    @pytest.mark.parametrize(
        ("topic_filter", "expected"),
        [
            (TELEMETRY_FILTER, True),
            (STATUS_FILTER, True),
            (SHARED_TELEMETRY_FILTER, True),
            ("$share/anxin-gateway/" + STATUS_FILTER, True),
            ("anxin/v1/homes/home-1/devices/+/telemetry", True),
            ("#", False),
            ("anxin/v1/homes/#", False),
            ("anxin/v1/workers/+/offers", False),
            ("$share/anxin-gateway/#", False),
            ("$SYS/#", False),
        ],
    )
    def test_the_service_reads_every_device(self, topic_filter: str, expected: bool) -> None:
        assert may_subscribe(SERVICE, topic_filter) is expected

    @pytest.mark.parametrize(
        ("topic", "expected"),
        [("anxin/v1/workers/w-7/offers", True), (OWN, False), ("anxin/v1/workers/w-7", False)],
    )
    def test_the_service_publishes_only_offers(self, topic: str, expected: bool) -> None:
        assert may_publish(SERVICE, topic) is expected

    def test_the_service_receives_device_topics(self) -> None:
        assert may_receive(SERVICE, OWN)
        assert may_receive(SERVICE, OWN_STATUS)
        assert not may_receive(SERVICE, "anxin/v1/workers/w-7/offers")


class TestServiceAccount:
    def test_with_password_stores_a_verifiable_hash(self) -> None:
        account = ServiceAccount.with_password("anxin-gateway", "s3cret")
        assert verify_password("s3cret", account.password_hash)
        assert "s3cret" not in repr(account)

    @pytest.mark.parametrize("username", ["", "has space", "colon:name", "a/b", "x" * 65])
    def test_a_name_unsafe_for_the_password_file_is_refused(self, username: str) -> None:
        with pytest.raises(ValueError, match="service account name"):
            ServiceAccount(username=username, password_hash=hash_password("p"))

    def test_a_plaintext_password_is_not_a_hash(self) -> None:
        with pytest.raises(ValueError, match=r"\$7\$"):
            ServiceAccount(username="anxin-gateway", password_hash="plaintext")


class TestBrokerDevices:
    def test_a_device_named_like_a_service_account_gets_no_login(self) -> None:
        accounts = [ServiceAccount.with_password("anxin-gateway", "p")]
        devices = [_device("anxin-gateway"), _device("dev-b"), _device("dev-a")]
        assert [d.device_id for d in broker_devices(devices, accounts)] == ["dev-a", "dev-b"]


def _device(device_id: str) -> Device:
    return Device(
        device_id=device_id, home_id="home-1", type="vitals", password_hash=hash_password("p")
    )
