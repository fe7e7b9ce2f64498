"""Options, provisioning and credentials of simulation runs (no broker needed)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from devices.credentials import verify_password
from records.devices import DeviceRegistry, open_registry
from simulators.cli import broker_address, simulate_command
from simulators.errors import SimulatorError
from simulators.fleet import build_fleet
from simulators.provision import load_credentials, provision, save_credentials
from simulators.run import SimulationOptions
from simulators.samples import load_samples, samples_home

SAMPLES = Path(__file__).parents[1] / "contract" / "samples"
NOW = datetime(2026, 11, 24, 8, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path: Path) -> DeviceRegistry:
    registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
    return registry


class TestSimulationOptions:
    def test_injections_may_be_given_as_text(self) -> None:
        options = SimulationOptions.model_validate(
            {"homes": 5, "injections": ["fall@sim-0003+10m", "leak@sim-0001/sim-0001-leak-kitchen"]}
        )
        assert [str(injection) for injection in options.injections] == [
            "fall@sim-0003+10m",
            "leak@sim-0001/sim-0001-leak-kitchen",
        ]

    @pytest.mark.parametrize(
        ("injection", "message"),
        [
            ("fall@sim-0006", "not one of the 5 simulated homes"),
            ("fall@sim-6", "not one of the 5 simulated homes"),
            ("fall@house-1", "not one of the 5 simulated homes"),
            ("leak@sim-0001/sim-0002-leak-kitchen", "has no device sim-0002-leak-kitchen"),
            ("fall@sim-0001+3h", "after the simulation ends"),
            ("fall@sim-0001+", "offset must be like"),
        ],
    )
    def test_bad_injections_are_refused_clearly(self, injection: str, message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            SimulationOptions.model_validate(
                {"homes": 5, "duration": timedelta(hours=2), "injections": [injection]}
            )

    def test_options_are_frozen(self) -> None:
        options = SimulationOptions()
        with pytest.raises(ValidationError):
            options.homes = 3  # type: ignore[misc]

    @pytest.mark.parametrize("speed", [0, -1, float("nan")])
    def test_speed_must_be_positive(self, speed: float) -> None:
        with pytest.raises(ValidationError):
            SimulationOptions(speed=speed)

    def test_a_real_time_run_starts_now(self) -> None:
        assert SimulationOptions().window(NOW) == (NOW, None)

    def test_an_accelerated_run_catches_up_with_the_clock_as_it_ends(self) -> None:
        options = SimulationOptions(speed=60, duration=timedelta(hours=2))
        start, end = options.window(NOW)
        assert end == NOW + timedelta(minutes=2)  # when the 2-minute run is over
        assert start == NOW + timedelta(minutes=2) - timedelta(hours=2)

    def test_an_unpaced_run_ends_now(self) -> None:
        options = SimulationOptions(speed=float("inf"), duration=timedelta(days=1))
        assert options.window(NOW) == (NOW - timedelta(days=1), NOW)

    def test_an_explicit_start_is_kept(self) -> None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        options = SimulationOptions(start=start, duration=timedelta(hours=1), speed=100)
        assert options.window(NOW) == (start, start + timedelta(hours=1))

    def test_a_naive_start_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="timezone"):
            SimulationOptions(start=datetime(2026, 1, 1))


class TestProvision:
    def test_registers_every_home_and_device_with_a_working_password(
        self, registry: DeviceRegistry
    ) -> None:
        fleet = build_fleet(2)
        credentials = provision(registry, fleet)
        assert {home.home_id for home in registry.homes()} == {"sim-0001", "sim-0002"}
        assert len(credentials) == sum(len(home.devices) for home in fleet)
        device = registry.lookup("sim-0002-plug-stove")
        assert device is not None
        assert (device.type, device.room, device.appliance) == ("power", "kitchen", "stove")
        assert verify_password(credentials["sim-0002-plug-stove"], device.password_hash)

    def test_a_second_run_adds_only_what_is_new(self, registry: DeviceRegistry) -> None:
        first = provision(registry, build_fleet(1))
        second = provision(registry, build_fleet(2), known=first)
        assert {k: v for k, v in second.items() if k in first} == first
        assert len(second) == 2 * len(first)

    def test_known_passwords_are_needed_for_registered_devices(
        self, registry: DeviceRegistry
    ) -> None:
        provision(registry, build_fleet(1))
        with pytest.raises(SimulatorError, match="passwords are not known"):
            provision(registry, build_fleet(2))
        assert len(registry.homes()) == 1  # nothing was added


class TestCredentialsFile:
    def test_round_trip_with_owner_only_mode(self, tmp_path: Path) -> None:
        path = tmp_path / "credentials.json"
        save_credentials(path, {"sim-0001-watch": "secret-1", "sim-0001-bed": "secret-2"})
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert load_credentials(path) == {"sim-0001-watch": "secret-1", "sim-0001-bed": "secret-2"}

    @pytest.mark.parametrize(
        "content",
        [
            "not json",
            "[]",
            '{"format": "other", "devices": {}}',
            '{"format": "anxin-simulator-credentials/1", "devices": {"bad id": "x"}}',
            '{"format": "anxin-simulator-credentials/1", "devices": {"d": 3}}',
        ],
    )
    def test_bad_files_are_refused(self, tmp_path: Path, content: str) -> None:
        path = tmp_path / "credentials.json"
        path.write_text(content)
        with pytest.raises(SimulatorError):
            load_credentials(path)

    def test_a_missing_file_is_a_clear_error(self, tmp_path: Path) -> None:
        with pytest.raises(SimulatorError, match="cannot read credentials file"):
            load_credentials(tmp_path / "nope.json")


class TestSamples:
    def test_every_contract_sample_is_loaded(self) -> None:
        types = [type_ for type_, _ in load_samples(SAMPLES)]
        assert types == sorted(
            [
                "bed",
                "door",
                "environment",
                "fall",
                "heartbeat",
                "leak",
                "motion",
                "power",
                "smoke",
                "sos",
                "vitals",
            ]
        )

    def test_the_samples_home_has_one_device_per_sample(self, registry: DeviceRegistry) -> None:
        home = samples_home(SAMPLES)
        assert [d.device_id for d in home.devices] == [
            f"sim-samples-{type_}" for type_, _ in load_samples(SAMPLES)
        ]
        credentials = provision(registry, [home])
        assert set(credentials) == {d.device_id for d in home.devices}


class TestCommand:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            ("mqtt://broker:1884", ("broker", 1884)),
            ("tcp://10.0.0.1", ("10.0.0.1", 1883)),
            ("localhost:1999", ("localhost", 1999)),
        ],
    )
    def test_broker_urls(self, url: str, expected: tuple[str, int]) -> None:
        assert broker_address(url) == expected

    @pytest.mark.parametrize("url", ["http://x:1", "mqtt://", "mqtt://host:99999"])
    def test_bad_broker_urls(self, url: str) -> None:
        with pytest.raises(SimulatorError):
            broker_address(url)

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            ({"inject": ["boom@sim-0001"]}, "unknown kind"),
            ({"homes": 2, "inject": ["fall@sim-0003"]}, "not one of the 2"),
            ({"duration": "ten minutes"}, "duration must be like"),
            ({"broker": "http://x"}, "broker must look like"),
            ({"homes": 0}, "homes"),
        ],
    )
    def test_bad_arguments_exit_2_with_a_message(
        self, arguments: dict[str, object], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert simulate_command(**arguments, progress=False) == 2  # type: ignore[arg-type]
        assert message in capsys.readouterr().err
