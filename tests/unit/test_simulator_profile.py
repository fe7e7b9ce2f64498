"""Device profiles: which devices of each simulated home are provisioned, connected and published."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from anxin.simulation import provision_fleet
from records.devices import open_registry
from simulators.errors import SimulatorError
from simulators.fleet import build_fleet
from simulators.injections import parse_injection
from simulators.profile import ROLES, injection_fits, parse_roles, with_roles
from simulators.run import SimulationOptions
from tests.integration.rig import anxin_executable


def anxin(*args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ANXIN_")}
    return subprocess.run(
        [anxin_executable(), *args], capture_output=True, text=True, timeout=60, env=environment
    )


class TestParseRoles:
    @pytest.mark.parametrize(
        ("text", "roles"),
        [
            ("wearable", ("wearable",)),
            ("motion,wearable", ("wearable", "motion")),  # home order, whatever was typed
            (" wearable , motion ,wearable", ("wearable", "motion")),
            ("all", ROLES),
        ],
    )
    def test_names_become_roles_in_home_order_each_once(self, text: str, roles: tuple[str]) -> None:
        assert parse_roles(text) == roles

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("wearble", "unknown device role 'wearble' (did you mean 'wearable'?)"),
            ("watch", "unknown device role 'watch'"),
            ("wearable,,motion", "unknown device role ''"),
            ("", "name at least one device role"),
            (" , ", "name at least one device role"),
            ("x" * 10_000, "unknown device role"),
            ("all,motion", "unknown device role 'all'"),
        ],
    )
    def test_hostile_names_are_refused_clearly(self, text: str, says: str) -> None:
        with pytest.raises(SimulatorError, match="wearable, motion, door") as caught:
            parse_roles(text)
        assert says in str(caught.value)
        assert len(str(caught.value)) < 200


class TestWithRoles:
    def test_keeps_only_the_devices_of_the_profile(self) -> None:
        home = build_fleet(1)[0]
        watch_only = with_roles(home, ("wearable",))
        assert [d.device_id for d in watch_only.devices] == ["sim-0001-watch"]
        assert watch_only.home == home.home
        assert watch_only.resident == home.resident

    def test_every_role_is_the_whole_home(self) -> None:
        home = build_fleet(1)[0]
        assert with_roles(home, ROLES) == home
        assert len(with_roles(home, ("motion", "door")).devices) == 8


class TestInjectionsAgainstAProfile:
    @pytest.mark.parametrize(
        ("text", "roles", "fits"),
        [
            ("fall@sim-0001", ("wearable",), True),
            ("sos@sim-0001", ("wearable",), True),
            ("leak@sim-0001", ("wearable",), False),
            ("leak@sim-0001/sim-0001-leak-kitchen", ("leak",), True),
            ("stove_unattended@sim-0001", ("stove",), False),
            ("device_offline@sim-0001/sim-0001-watch", ("wearable",), True),
            ("device_offline@sim-0001", ("wearable",), False),
        ],
    )
    def test_an_injection_needs_the_devices_that_carry_it(
        self, text: str, roles: tuple[str, ...], fits: bool
    ) -> None:
        home = build_fleet(1)[0]
        reason = injection_fits(parse_injection(text), home, roles)  # type: ignore[arg-type]
        assert (reason is None) == fits


class TestSimulationOptions:
    def test_every_device_by_default(self) -> None:
        assert SimulationOptions().roles == ROLES

    def test_roles_may_be_given_as_text_or_a_list(self) -> None:
        assert SimulationOptions(roles="bed,wearable").roles == ("wearable", "bed")
        assert SimulationOptions.model_validate({"roles": ["smoke"]}).roles == ("smoke",)

    @pytest.mark.parametrize("roles", ["toaster", [], ["wearable", "toaster"], ""])
    def test_an_unknown_or_empty_profile_is_refused(self, roles: object) -> None:
        with pytest.raises(ValidationError, match="role"):
            SimulationOptions.model_validate({"roles": roles})

    def test_an_injection_the_profile_cannot_show_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="needs the leak device"):
            SimulationOptions.model_validate(
                {
                    "homes": 2,
                    "roles": "wearable",
                    "duration": timedelta(hours=2),
                    "injections": ["leak@sim-0002"],
                }
            )


class TestProvisioning:
    def test_only_the_profile_is_registered_and_given_passwords(self, tmp_path: Path) -> None:
        registry = open_registry(f"sqlite:///{tmp_path / 'registry.db'}")
        credentials = provision_fleet(
            registry,
            homes=3,
            seed=1,
            credentials_file=tmp_path / "credentials.json",
            roles=("wearable",),
        )
        assert sorted(credentials) == ["sim-0001-watch", "sim-0002-watch", "sim-0003-watch"]
        assert sorted(d.device_id for d in registry.devices()) == sorted(credentials)
        assert len(registry.homes()) == 3


class TestCommandLine:
    @pytest.mark.parametrize("devices", ["toaster", "", "wearable,,"])
    def test_simulate_refuses_an_unknown_role_with_exit_2(self, devices: str) -> None:
        result = anxin("simulate", "--homes", "1", "--devices", devices)
        assert result.returncode == 2
        assert "Traceback" not in result.stderr
        assert "role" in result.stderr

    def test_simulate_refuses_an_injection_the_profile_drops(self) -> None:
        result = anxin(
            "simulate", "--homes", "2", "--devices", "wearable", "--inject", "smoke@sim-0001"
        )
        assert result.returncode == 2
        assert "needs the smoke device" in result.stderr
