"""The gateway's Prometheus metrics, registered on a registry the process owns."""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LAG_SAMPLE_EVERY: Final = 8
"""Every 8th reading of a batch is timed for `anxin_ingest_lag_seconds`: enough for
quantiles, and a histogram observation per reading would cost more than its storing."""

LAG_BUCKETS: Final = (
    0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075,
    0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 30.0, 60.0,
    300.0,
)  # fmt: skip


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.received = Counter(
            "anxin_mqtt_messages_received",
            "MQTT messages the gateway received",
            registry=registry,
        )
        self.accepted = Counter(
            "anxin_telemetry_accepted",
            "Readings accepted, by telemetry type",
            ["type"],
            registry=registry,
        )
        self.rejected = Counter(
            "anxin_telemetry_rejected",
            "Messages refused, by CONTRACT §4 reason",
            ["reason"],
            registry=registry,
        )
        self.status_changes = Counter(
            "anxin_device_status_changes",
            "Device online/offline messages",
            ["status"],
            registry=registry,
        )
        self.stored = Counter(
            "anxin_readings_stored",
            "Readings written to the time-series store",
            registry=registry,
        )
        self.spooled = Counter(
            "anxin_readings_spooled",
            "Readings spooled to disk while the store was down",
            registry=registry,
        )
        self.spool_bytes = Gauge(
            "anxin_spool_bytes", "Bytes waiting in the on-disk spool", registry=registry
        )
        self.ack_latency = Histogram(
            "anxin_batch_ack_seconds",
            "From receiving a batch to acknowledging it (stored or spooled, handed on)",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=registry,
        )
        self.ingest_lag = Histogram(
            "anxin_ingest_lag_seconds",
            "From a reading's own ts to it being stored or spooled (every 8th of a batch)",
            buckets=LAG_BUCKETS,
            registry=registry,
        )
