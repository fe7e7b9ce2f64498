"""The gateway's Prometheus metrics, registered on a registry the process owns."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
