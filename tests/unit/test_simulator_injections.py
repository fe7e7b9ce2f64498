"""The injection grammar: `KIND@HOME[+OFFSET][/DEVICE]`."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.errors import InjectionError
from simulators.injections import KINDS, Injection, parse_duration, parse_injection


class TestParseInjection:
    @pytest.mark.parametrize(
        ("text", "kind", "home", "offset", "device"),
        [
            ("fall@sim-0003+10m", "fall", "sim-0003", timedelta(minutes=10), None),
            ("sos@sim-0001", "sos", "sim-0001", timedelta(0), None),
            ("news2@sim-0002+1h30m", "news2", "sim-0002", timedelta(minutes=90), None),
            ("deterioration@sim-0002+2h", "news2", "sim-0002", timedelta(hours=2), None),
            (
                "stove_left_on@sim-0004+90s",
                "stove_unattended",
                "sim-0004",
                timedelta(seconds=90),
                None,
            ),
            ("inactivity@sim-0001+1d2h", "inactivity", "sim-0001", timedelta(hours=26), None),
            (
                "leak@sim-0001+5m/sim-0001-leak-kitchen",
                "leak",
                "sim-0001",
                timedelta(minutes=5),
                "sim-0001-leak-kitchen",
            ),
            (
                "device_offline@sim-0009/sim-0009-climate-bedroom",
                "device_offline",
                "sim-0009",
                timedelta(0),
                "sim-0009-climate-bedroom",
            ),
            (
                "  night_wandering@sim-0005+3h  ",
                "night_wandering",
                "sim-0005",
                timedelta(hours=3),
                None,
            ),
        ],
    )
    def test_valid_text_parses(
        self, text: str, kind: str, home: str, offset: timedelta, device: str | None
    ) -> None:
        injection = parse_injection(text)
        assert (injection.kind, injection.home_id, injection.offset, injection.device_id) == (
            kind,
            home,
            offset,
            device,
        )

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", "empty"),
            ("fall", "no '@'"),
            ("fal@sim-0001", "did you mean 'fall'"),
            ("explosion@sim-0001", "unknown kind 'explosion'"),
            ("fall@", "home id"),
            ("fall@sim 0001", "ASCII"),
            ("fall@sim-0001+", "offset must be like"),
            ("fall@sim-0001+10", "offset must be like"),
            ("fall@sim-0001+10x", "offset must be like"),
            ("fall@sim-0001+30m1h", "offset must be like"),
            ("fall@sim-0001+-5m", "offset must be like"),
            ("fall@sim-0001+401d", "more than 400 days"),
            ("fall@sim-0001/sim-0001-watch", "fall takes no device"),
            ("leak@sim-0001/", "device id"),
            ("leak@sim-0001/a/b", "device id"),
            ("fall@sim-0001+\u0661m", "ASCII"),
            ("fall@sim-0001\x00", "ASCII"),
            ("fall@" + "x" * 65, "home id"),
            ("fall@" + "x" * 300, "longer than 200"),
        ],
    )
    def test_bad_text_is_rejected_with_the_reason(self, text: str, message: str) -> None:
        with pytest.raises(InjectionError, match="bad injection") as caught:
            parse_injection(text)
        assert message in str(caught.value)

    def test_text_form_round_trips(self) -> None:
        text = "leak@sim-0001+1d2h3m4s/sim-0001-leak-bathroom"
        assert str(parse_injection(text)) == text

    def test_an_alias_prints_as_the_alert_kind(self) -> None:
        assert str(parse_injection("stove_left_on@sim-0001+1h")) == "stove_unattended@sim-0001+1h"

    @given(st.text(max_size=120))
    def test_any_text_parses_or_fails_cleanly(self, text: str) -> None:
        try:
            injection = parse_injection(text)
        except InjectionError as error:
            message = str(error)
        else:
            message = "bad injection (none)"
            assert parse_injection(str(injection)) == injection
        assert message.startswith("bad injection")

    @given(
        st.sampled_from(KINDS),
        st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
        st.integers(min_value=0, max_value=400 * 86_400),
    )
    def test_every_well_formed_injection_round_trips(
        self, kind: str, home: str, seconds: int
    ) -> None:
        injection = Injection.model_validate(
            {"kind": kind, "home_id": home, "offset": timedelta(seconds=seconds)}
        )
        assert parse_injection(str(injection)) == injection

    @given(st.text(alphabet="0123456789dhms+-@/ ", max_size=30))
    def test_hostile_offsets_never_escape_as_other_errors(self, offset: str) -> None:
        with contextlib.suppress(InjectionError):
            parse_injection(f"fall@sim-0001+{offset}")


class TestParseDuration:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("90s", timedelta(seconds=90)),
            ("2h", timedelta(hours=2)),
            ("1d12h", timedelta(hours=36)),
            ("0s", timedelta(0)),
        ],
    )
    def test_durations(self, text: str, expected: timedelta) -> None:
        assert parse_duration(text) == expected

    @pytest.mark.parametrize("text", ["", "h", "1.5h", "1H", "1h1d", "forever"])
    def test_bad_durations(self, text: str) -> None:
        with pytest.raises(ValueError, match="duration must be like"):
            parse_duration(text)
