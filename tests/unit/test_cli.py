"""The command line refuses bad flags and settings with a clear message, never a traceback."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.rig import anxin_executable


def anxin(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    return subprocess.run(
        [anxin_executable(), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**environment, **(env or {})},
    )


class TestHostileArguments:
    @pytest.mark.parametrize(
        "args",
        [
            ["up", "--http-port", "70000"],
            ["up", "--simulate", "-3"],
            ["up", "--mqtt-port", "http"],
            ["homes", "add", "--home-id", "a/b", "--lat", "22", "--lon", "113"],
            ["homes", "add", "--home-id", "h1", "--lat", "200", "--lon", "113"],
            ["simulate", "--homes", "0"],
            ["bench", "nothing"],
            ["teleport"],
        ],
    )
    def test_bad_flags_exit_2_without_a_traceback(self, args: list[str]) -> None:
        result = anxin(*args)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr

    @pytest.mark.parametrize(
        ("variable", "value", "says"),
        [
            ("ANXIN_MQTT__URL", "http://nowhere", "MQTT url"),
            ("ANXIN_MQTT__URL", "mqtt://host:99999", "mqtt"),
            ("ANXIN_INFLUX__API", "v9", "influx"),
            ("ANXIN_INFLUX__BATCH_SIZE", "-1", "batch_size"),
            ("ANXIN_HTTP__PORT", "lots", "port"),
            ("ANXIN_MQTT", "{not json", "mqtt"),
            ("ANXIN_ALERTS__WEBHOOK_URL", "ftp://sms.example", "webhook url"),
            ("ANXIN_ALERTS__RADIUS_M", "-3", "radius_m"),
            ("ANXIN_ALERTS__DISPATCHER_TIERS", "0", "dispatcher_tiers"),
        ],
    )
    def test_bad_settings_are_named(
        self, tmp_path: Path, variable: str, value: str, says: str
    ) -> None:
        result = anxin("gateway", "--data-dir", str(tmp_path), env={variable: value})
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert says.lower() in result.stderr.lower()

    def test_production_refuses_placeholder_secrets(self, tmp_path: Path) -> None:
        result = anxin(
            "gateway", "--data-dir", str(tmp_path), env={"ANXIN_ENVIRONMENT": "production"}
        )
        assert result.returncode == 2
        assert "ANXIN_MQTT__PASSWORD" in result.stderr

    def test_production_api_refuses_the_placeholder_offers_password(self, tmp_path: Path) -> None:
        result = anxin(
            "api",
            "--data-dir",
            str(tmp_path),
            env={
                "ANXIN_ENVIRONMENT": "production",
                "ANXIN_MQTT__PASSWORD": "a-real-gateway-secret",
                "ANXIN_ADMIN_PASSWORD": "a-long-admin-password",
            },
        )
        assert result.returncode == 2
        assert "ANXIN_ALERTS__MQTT_PASSWORD" in result.stderr


class TestProvisioning:
    def test_a_device_is_added_and_its_password_shown_once(self, tmp_path: Path) -> None:
        data = ["--data-dir", str(tmp_path)]
        assert (
            anxin(
                "homes", "add", "--home-id", "h1", "--lat", "22.5", "--lon", "113.4", *data
            ).returncode
            == 0
        )
        added = anxin(
            "devices",
            "add",
            "--home-id",
            "h1",
            "--device-id",
            "pir-1",
            "--type",
            "motion",
            "--room",
            "kitchen",
            *data,
        )
        assert added.returncode == 0, added.stderr
        assert "MQTT password:" in added.stdout
        again = anxin(
            "devices", "add", "--home-id", "h1", "--device-id", "pir-1", "--type", "motion", *data
        )
        assert again.returncode == 2
        assert "already exists" in again.stderr

    @pytest.mark.parametrize(
        "extra",
        [
            ["--type", "teleport"],
            ["--type", "motion", "--room", "bad room"],
            ["--type", "motion", "--report-interval-s", "0"],
        ],
    )
    def test_bad_devices_are_refused(self, tmp_path: Path, extra: list[str]) -> None:
        data = ["--data-dir", str(tmp_path)]
        anxin("homes", "add", "--home-id", "h1", "--lat", "22.5", "--lon", "113.4", *data)
        result = anxin("devices", "add", "--home-id", "h1", "--device-id", "d1", *extra, *data)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr

    def test_a_device_for_a_missing_home_is_refused(self, tmp_path: Path) -> None:
        result = anxin(
            "devices",
            "add",
            "--home-id",
            "nowhere",
            "--device-id",
            "d1",
            "--type",
            "motion",
            "--data-dir",
            str(tmp_path),
        )
        assert result.returncode == 2
        assert "does not exist" in result.stderr


class TestBrokerConfig:
    def test_the_offers_account_gets_its_own_password(self, tmp_path: Path) -> None:
        out = tmp_path / "auth"
        result = anxin(
            "broker-config",
            "--out",
            str(out),
            "--data-dir",
            str(tmp_path),
            env={
                "ANXIN_MQTT__PASSWORD": "gateway-secret",
                "ANXIN_ALERTS__MQTT_PASSWORD": "offers-secret",
            },
        )
        assert result.returncode == 0, result.stderr
        users = [line.split(":", 1)[0] for line in (out / "passwd").read_text().splitlines()]
        assert sorted(users) == ["anxin-dispatch", "anxin-gateway"]
        hashes = dict(line.split(":", 1) for line in (out / "passwd").read_text().splitlines())
        assert hashes["anxin-dispatch"] != hashes["anxin-gateway"]

    def test_without_an_offers_password_only_the_gateway_is_exported(self, tmp_path: Path) -> None:
        out = tmp_path / "auth"
        result = anxin(
            "broker-config",
            "--out",
            str(out),
            "--data-dir",
            str(tmp_path),
            env={"ANXIN_MQTT__PASSWORD": "gateway-secret"},
        )
        assert result.returncode == 0, result.stderr
        assert [line.split(":", 1)[0] for line in (out / "passwd").read_text().splitlines()] == [
            "anxin-gateway"
        ]
