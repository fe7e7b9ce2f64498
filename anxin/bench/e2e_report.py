"""The end-to-end bench's arithmetic and table: timed presses and a measured window in, figures out.

Pure: the bench hands over what it timed, this turns it into `Figure`s (the p99 of
press-to-event held to the issue's 250 ms) and prints them with the reproducing command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from anxin.bench.e2e_load import BackgroundPlan
from anxin.bench.figures import Figure, sample_quantile

TARGET_P99_MS: Final = 250.0


@dataclass(frozen=True, slots=True)
class Press:
    """One timed SOS press, milliseconds from just before the publish call.

    `event_ms` None: no `opened` event for it on the stream within the timeout (lost).
    """

    event_ms: float | None
    stored_ms: float | None = None
    """To the alert's `opened_at` (the alert service's clock, same machine): ingest,
    detection and the database commit, without the stream's last hop."""
    puback_ms: float | None = None
    """To the broker's PUBACK: the MQTT hop alone."""
    at_s: float = 0.0
    """When it was pressed, seconds from the first press of its run (to line up outliers
    with logs and profiles)."""

    def as_json(self) -> dict[str, float | None]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 2)

        return {
            "at_s": round(self.at_s, 3),
            "event_ms": rounded(self.event_ms),
            "stored_ms": rounded(self.stored_ms),
            "puback_ms": rounded(self.puback_ms),
        }


@dataclass(frozen=True, slots=True)
class Window:
    """What happened around the measured presses, from the first to the last."""

    seconds: float
    received: int
    """Messages the gateway received, the bench's own presses taken out."""
    up_cpu_s: float
    simulator_cpu_s: float | None
    background_events: int
    """Alert changes of the background homes seen on the same stream."""
    simulator_alive: bool
    up_peak_mb: float | None = None
    """`anxin up`'s high-water resident memory at the end."""


def _ms(values: Sequence[float | None], q: float) -> float | None:
    return sample_quantile([value for value in values if value is not None], q)


def figures(plan: BackgroundPlan, presses: Sequence[Press], window: Window | None) -> list[Figure]:
    """Latency quantiles against the target, the stages, the load achieved and its cost."""
    events = [press.event_ms for press in presses]
    timed = [value for value in events if value is not None]
    lost = len(events) - len(timed)
    p99 = _ms(events, 0.99)
    result = [
        Figure("e2e.p50_ms", "SOS press → SSE event, p50", _ms(events, 0.5), "ms"),
        Figure(
            "e2e.p99_ms",
            "SOS press → SSE event, p99",
            p99,
            "ms",
            target=f"< {TARGET_P99_MS:g} ms",
            passed=None if p99 is None else p99 < TARGET_P99_MS and lost == 0,
            note=f"{len(timed)} presses" + (f", {lost} lost" if lost else ""),
        ),
        Figure("e2e.max_ms", "SOS press → SSE event, max", max(timed, default=None), "ms"),
        Figure("e2e.lost", "presses with no event", lost, "", target="0", passed=lost == 0),
        _stage("puback", "press → broker PUBACK", [p.puback_ms for p in presses]),
        _stage("stored", "press → alert stored (opened_at)", [p.stored_ms for p in presses]),
    ]
    result += _background(plan, window)
    return result


def _stage(key: str, label: str, values: Sequence[float | None]) -> Figure:
    """A stage of the path: its p50 as the value, its p99 in the note."""
    p99 = _ms(values, 0.99)
    return Figure(
        f"stage.{key}_p50_ms",
        f"{label}, p50 / p99",
        _ms(values, 0.5),
        "ms",
        note="" if p99 is None else f"p99 {p99:,.1f} ms",
    )


def _background(plan: BackgroundPlan, window: Window | None) -> list[Figure]:
    rate = None if window is None or window.seconds <= 0 else window.received / window.seconds
    aim = plan.full_rate_per_s
    profile = ",".join(plan.roles)
    result = [
        Figure(
            "background.rate_per_s",
            "background messages received by the gateway",
            rate,
            "msg/s",
            target=f"≈ {aim:,.1f}" if plan.homes else "",
            note=f"{plan.homes:,} homes × {profile} at speed {plan.speed:g}, "
            f"{plan.devices:,} MQTT connections"
            + ("" if window is None or window.simulator_alive else "; the simulator had ended"),
        ),
        Figure(
            "background.full_rate_per_s",
            f"what {plan.homes:,} full homes would send",
            aim,
            "msg/s",
            note=f"{plan.full_per_home_day:,.0f} messages per home-day; "
            f"{profile} alone {plan.profile_per_home_day:,.0f}",
        ),
    ]
    if window is None or window.seconds <= 0:
        return result
    result.append(
        Figure(
            "cpu.up_percent",
            "anxin up CPU (one core = 100 %)",
            window.up_cpu_s / window.seconds * 100,
            "%",
            note=f"over {window.seconds:.1f} s of measured presses",
        )
    )
    if window.up_peak_mb is not None:
        result.append(
            Figure("memory.up_peak_mb", "anxin up peak memory (VmHWM)", window.up_peak_mb, "MB")
        )
    if window.simulator_cpu_s is not None:
        result.append(
            Figure(
                "cpu.simulator_percent",
                "simulator CPU",
                window.simulator_cpu_s / window.seconds * 100,
                "%",
            )
        )
    result.append(
        Figure(
            "background.alert_events",
            "background alert changes on the same stream",
            window.background_events,
            "",
        )
    )
    return result
