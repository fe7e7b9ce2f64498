"""The ingest benchmark's pure parts: histogram quantiles, payloads, how work is shared."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from anxin.bench.figures import Figure, counter_values, histogram_buckets, quantile, subtract
from anxin.bench.fleet import KINDS, Clock, fleet_ids, quotas, render, split
from anxin.bench.ingest import IngestOptions, Mode
from devices.telemetry import TELEMETRY_ADAPTER
from gateway.metrics import GatewayMetrics

EXPOSITION = """\
# HELP anxin_ingest_lag_seconds lag
# TYPE anxin_ingest_lag_seconds histogram
anxin_ingest_lag_seconds_bucket{le="0.01"} 10.0
anxin_ingest_lag_seconds_bucket{le="0.02"} 30.0
anxin_ingest_lag_seconds_bucket{le="0.05"} 90.0
anxin_ingest_lag_seconds_bucket{le="0.1"} 100.0
anxin_ingest_lag_seconds_bucket{le="+Inf"} 100.0
anxin_ingest_lag_seconds_count 100.0
anxin_ingest_lag_seconds_sum 3.5
# HELP other_seconds other
# TYPE other_seconds histogram
other_seconds_bucket{le="1.0"} 7.0
other_seconds_bucket{le="+Inf"} 7.0
"""


class TestHistogramBuckets:
    def test_reads_only_the_named_histogram_in_bound_order(self) -> None:
        buckets = histogram_buckets(EXPOSITION, "anxin_ingest_lag_seconds")
        assert buckets == [(0.01, 10), (0.02, 30), (0.05, 90), (0.1, 100), (math.inf, 100)]

    def test_a_missing_histogram_has_no_buckets(self) -> None:
        assert histogram_buckets(EXPOSITION, "absent_seconds") == []

    def test_subtracting_an_earlier_reading_leaves_what_was_observed_between(self) -> None:
        before = [(0.01, 5.0), (0.1, 8.0), (math.inf, 8.0)]
        after = [(0.01, 6.0), (0.1, 20.0), (math.inf, 21.0)]
        assert subtract(after, before) == [(0.01, 1.0), (0.1, 12.0), (math.inf, 13.0)]


class TestCounterValues:
    @staticmethod
    def exposition() -> str:
        """The gateway's own metrics, as `/metrics` serves them."""
        registry = CollectorRegistry()
        metrics = GatewayMetrics(registry)
        metrics.received.inc(120)
        metrics.rejected.labels("schema").inc(3)
        metrics.rejected.labels("duplicate").inc(2)
        return generate_latest(registry).decode()

    def test_totals_by_label(self) -> None:
        totals = counter_values(self.exposition(), "anxin_telemetry_rejected", "reason")
        assert totals == {"schema": 3.0, "duplicate": 2.0}

    def test_an_unlabelled_counter_is_one_total(self) -> None:
        assert counter_values(self.exposition(), "anxin_mqtt_messages_received") == {"": 120.0}

    def test_the_lag_histogram_is_read_from_the_gateway_metrics(self) -> None:
        registry = CollectorRegistry()
        GatewayMetrics(registry).ingest_lag.observe(0.004)
        exposition = generate_latest(registry).decode()
        buckets = histogram_buckets(exposition, "anxin_ingest_lag_seconds")
        assert buckets[-1] == (math.inf, 1.0)
        assert quantile(0.5, buckets) == pytest.approx(0.004)


class TestQuantile:
    BUCKETS: ClassVar = [(0.01, 10.0), (0.02, 30.0), (0.05, 90.0), (0.1, 100.0), (math.inf, 100.0)]

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            (0.05, 0.005),  # inside the first bucket, which starts at 0
            (0.10, 0.01),  # exactly a bound
            (0.20, 0.015),  # halfway through (0.01, 0.02]
            (0.50, 0.03),  # 20 of the 60 in (0.02, 0.05]
            (0.99, 0.095),
            (1.00, 0.1),
        ],
    )
    def test_interpolates_linearly_within_the_bucket(self, q: float, expected: float) -> None:
        value = quantile(q, self.BUCKETS)
        assert value == pytest.approx(expected)

    def test_a_quantile_beyond_the_last_finite_bound_is_infinite(self) -> None:
        buckets = [(0.1, 50.0), (math.inf, 100.0)]
        assert quantile(0.9, buckets) == math.inf

    def test_empty_buckets_have_no_quantile(self) -> None:
        assert quantile(0.5, []) is None
        assert quantile(0.5, [(0.1, 0.0), (math.inf, 0.0)]) is None

    def test_empty_leading_buckets_are_skipped(self) -> None:
        buckets = [(0.001, 0.0), (0.002, 0.0), (0.004, 10.0), (math.inf, 10.0)]
        assert quantile(0.5, buckets) == pytest.approx(0.003)

    @pytest.mark.parametrize("q", [-0.1, 1.5])
    def test_refuses_a_q_outside_0_to_1(self, q: float) -> None:
        with pytest.raises(ValueError, match=r"0\.\.1"):
            quantile(q, self.BUCKETS)


class TestFigure:
    def test_an_infinite_quantile_is_shown_as_beyond_the_top_bucket_and_null_in_json(
        self,
    ) -> None:
        figure = Figure("live.p99_ms", "p99", math.inf, "ms")
        assert figure.shown().startswith(">")
        assert figure.as_json()["value"] is None

    def test_verdict_is_empty_without_a_target(self) -> None:
        assert Figure("x", "x", 1.0, "").verdict() == ""
        assert Figure("x", "x", 1.0, "", "<= 0", False).verdict() == "FAIL"


class TestFleet:
    @pytest.mark.parametrize("kind", KINDS)
    def test_every_payload_shape_is_valid_telemetry(self, kind: str) -> None:
        ts_ms = 1_795_392_000_123
        telemetry = TELEMETRY_ADAPTER.validate_json(render(kind, ts_ms, 42))
        assert telemetry.type == kind
        assert telemetry.seq == 42
        assert telemetry.ts == datetime.fromtimestamp(ts_ms / 1000, tz=UTC)

    def test_four_devices_of_different_kinds_to_a_home(self) -> None:
        ids = fleet_ids(8)
        assert [home for _, home, _ in ids] == ["bench-h00000"] * 4 + ["bench-h00001"] * 4
        assert [kind for _, _, kind in ids[:4]] == list(KINDS)
        assert len({device for device, _, _ in ids}) == 8

    @pytest.mark.parametrize(("total", "devices"), [(300_000, 1000), (10, 3), (2, 5)])
    def test_quotas_share_the_total_evenly(self, total: int, devices: int) -> None:
        shares = quotas(total, devices)
        assert sum(shares) == total
        assert max(shares) - min(shares) <= 1

    def test_split_deals_round_robin_without_empty_parts(self) -> None:
        assert split([1, 2, 3, 4, 5], 2) == [[1, 3, 5], [2, 4]]
        assert split([1], 4) == [[1]]

    def test_the_clock_never_repeats_a_millisecond(self) -> None:
        clock = Clock()
        readings = [clock.next(1000), clock.next(1000), clock.next(1000), clock.next(5000)]
        assert readings == [(1000, 1), (1001, 2), (1002, 3), (5000, 4)]


class TestOptions:
    def test_the_command_line_reproduces_every_setting(self) -> None:
        options = IngestOptions(mode=Mode.live, devices=200, rate=5000, receive_window=10_000)
        command = options.command()
        assert command.startswith("anxin bench ingest --mode=live --devices=200")
        assert "--rate=5000" in command
        assert "--receive-window=10000" in command

    def test_only_the_chosen_gateway_settings_are_set(self) -> None:
        assert IngestOptions(batch_size=2000).gateway_tuning() == {
            "ANXIN_INFLUX__BATCH_SIZE": "2000"
        }
