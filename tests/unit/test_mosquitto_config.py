"""Mosquitto files rendered from the device registry."""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import pytest

from anxin.settings import MqttSettings
from broker.access import ServiceAccount
from broker.mosquitto import (
    MosquittoSettings,
    export_mosquitto_config,
    render_acl_file,
    render_conf,
    render_password_file,
    write_mosquitto_files,
)
from devices.credentials import hash_password, verify_password
from devices.registry import Device, Home
from records.devices import open_registry

GATEWAY = ServiceAccount.with_password("anxin-gateway", "gateway-secret")
CONTRACT_PAYLOAD_LIMIT = 16 * 1024


def _device(device_id: str, home_id: str = "home-1", password: str = "p") -> Device:
    return Device(
        device_id=device_id, home_id=home_id, type="vitals", password_hash=hash_password(password)
    )


def _acl_blocks(acl: str) -> dict[str, list[str]]:
    """`user` name -> its grant lines."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in acl.splitlines():
        if line.startswith("user "):
            current = blocks.setdefault(line.removeprefix("user "), [])
        elif line.startswith("topic "):
            assert current is not None, "a grant before any user line applies to anonymous clients"
            current.append(line)
    return blocks


class TestPasswordFile:
    def test_every_device_and_account_gets_its_hash(self) -> None:
        text = render_password_file([_device("dev-b", password="b"), _device("dev-a")], [GATEWAY])
        entries = dict(line.split(":", 1) for line in text.splitlines())
        assert list(entries) == ["anxin-gateway", "dev-a", "dev-b"]
        assert verify_password("gateway-secret", entries["anxin-gateway"])
        assert verify_password("b", entries["dev-b"])
        assert all(value.startswith("$7$") for value in entries.values())

    def test_a_device_cannot_shadow_the_service_account(self) -> None:
        text = render_password_file([_device("anxin-gateway", password="evil")], [GATEWAY])
        assert len(text.splitlines()) == 1
        assert verify_password("gateway-secret", text.split(":", 1)[1].strip())


class TestAclFile:
    def test_a_device_may_write_only_its_own_two_topics(self) -> None:
        blocks = _acl_blocks(render_acl_file([_device("dev-a", "home-9")], [GATEWAY]))
        assert blocks["dev-a"] == [
            "topic write anxin/v1/homes/home-9/devices/dev-a/telemetry",
            "topic write anxin/v1/homes/home-9/devices/dev-a/status",
        ]

    def test_the_service_account_reads_devices_and_writes_offers(self) -> None:
        blocks = _acl_blocks(render_acl_file([], [GATEWAY]))
        assert blocks["anxin-gateway"] == [
            "topic read anxin/v1/homes/+/devices/+/telemetry",
            "topic read anxin/v1/homes/+/devices/+/status",
            "topic write anxin/v1/workers/+/offers",
        ]

    def test_no_grant_applies_to_anonymous_clients(self) -> None:
        acl = render_acl_file([_device("dev-a")], [GATEWAY])
        first_rule = next(line for line in acl.splitlines() if line and not line.startswith("#"))
        assert first_rule.startswith("user ")

    def test_a_device_named_like_the_service_account_gets_no_rules(self) -> None:
        blocks = _acl_blocks(render_acl_file([_device("anxin-gateway")], [GATEWAY]))
        assert not any("write anxin/v1/homes" in line for line in blocks["anxin-gateway"])


class TestConf:
    def _conf(self, settings: MosquittoSettings | None = None) -> dict[str, str]:
        text = render_conf(
            password_file=Path("/etc/anxin/passwd"),
            acl_file=Path("/etc/anxin/acl"),
            persistence_location=Path("/var/lib/anxin"),
            settings=settings or MosquittoSettings(),
        )
        lines = [line for line in text.splitlines() if line and not line.startswith("#")]
        return dict(line.split(" ", 1) for line in lines)

    def test_only_known_users_with_their_rules(self) -> None:
        conf = self._conf()
        assert conf["allow_anonymous"] == "false"
        assert conf["password_file"] == "/etc/anxin/passwd"
        assert conf["acl_file"] == "/etc/anxin/acl"
        assert conf["use_username_as_clientid"] == "true"
        assert "listener" not in conf

    def test_queued_messages_survive_a_crash_within_seconds(self) -> None:
        conf = self._conf()
        assert conf["persistence"] == "true"
        assert conf["persistence_location"] == "/var/lib/anxin/"
        assert 0 < int(conf["autosave_interval"]) <= 10

    def test_a_backlog_is_queued_and_drained_in_large_windows(self) -> None:
        conf = self._conf()
        assert int(conf["max_queued_messages"]) >= 100_000
        assert int(conf["max_inflight_messages"]) >= MqttSettings().receive_window

    def test_an_oversize_reading_still_reaches_the_gateway(self) -> None:
        assert int(self._conf()["message_size_limit"]) > 4 * CONTRACT_PAYLOAD_LIMIT

    def test_settings_are_rendered(self) -> None:
        conf = self._conf(MosquittoSettings(max_inflight_messages=77, autosave_interval_s=2))
        assert conf["max_inflight_messages"] == "77"
        assert conf["autosave_interval"] == "2"

    def test_nonsense_settings_are_refused(self) -> None:
        with pytest.raises(ValueError, match="autosave_interval_s"):
            MosquittoSettings(autosave_interval_s=0)


class TestWriteFiles:
    def test_secrets_are_private_and_config_is_readable(self, tmp_path: Path) -> None:
        files = write_mosquitto_files(tmp_path / "out", [_device("dev-a")], [GATEWAY])
        assert stat.S_IMODE(files.password_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(files.acl_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(files.conf_file.stat().st_mode) == 0o644
        assert f"password_file {files.password_file}\n" in files.conf_file.read_text()
        assert (tmp_path / "out" / "persistence").is_dir()

    def test_rewriting_swaps_in_new_files_and_leaves_no_temporaries(self, tmp_path: Path) -> None:
        first = write_mosquitto_files(tmp_path, [_device("dev-a")], [GATEWAY])
        inode = first.password_file.stat().st_ino
        second = write_mosquitto_files(tmp_path, [_device("dev-a"), _device("dev-b")], [GATEWAY])
        assert second.password_file.stat().st_ino != inode
        assert "dev-b:" in second.password_file.read_text()
        assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
            "acl",
            "anxin.conf",
            "passwd",
        ]

    def test_files_can_be_given_to_the_broker_user(self, tmp_path: Path) -> None:
        me = pwd.getpwuid(os.getuid()).pw_name
        files = write_mosquitto_files(tmp_path, [_device("dev-a")], [GATEWAY], owner=me)
        assert files.password_file.stat().st_uid == os.getuid()

    def test_an_unknown_owner_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValueError, match="no such user"):
            write_mosquitto_files(tmp_path, [], [GATEWAY], owner="no-such-user-anxin")


class TestExport:
    def test_exports_every_registered_device(self, tmp_path: Path) -> None:
        registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
        registry.add_home(Home(home_id="home-1", lat=31.2, lon=121.5))
        registry.add_device(device_id="dev-a", home_id="home-1", type="vitals", password="pa")
        registry.add_device(device_id="dev-b", home_id="home-1", type="fall", password="pb")
        paths = export_mosquitto_config(registry, [GATEWAY], tmp_path / "mosquitto")
        assert [p.name for p in paths] == ["passwd", "acl", "anxin.conf"]
        users = [line.split(":", 1)[0] for line in paths[0].read_text().splitlines()]
        assert users == ["anxin-gateway", "dev-a", "dev-b"]
