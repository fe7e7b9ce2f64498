"""Every setting of every Anxin service: one tree, from flags and `ANXIN_*` variables.

Nested sections read as `ANXIN_MQTT__URL`, `ANXIN_INFLUX__API`, and so on.
Built once in `main` and passed down; nothing imports it as a global.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER = "change-me"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(_Section):
    url: str = Field(default="mqtt://127.0.0.1:1883", description="broker, mqtt://host:port")
    username: str = Field(default="anxin-gateway", description="the gateway's broker account")
    password: SecretStr = SecretStr(PLACEHOLDER)
    client_id: str = Field(
        default="anxin-gateway-1",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="stable per instance: the broker keeps its persistent session by this id",
    )
    shared_subscription: bool = Field(
        default=True, description="consume through $share/anxin-gateway/... (off on amqtt)"
    )
    receive_window: int = Field(
        default=10_000, ge=1, le=65_535, description="QoS 1 messages held unacknowledged at once"
    )

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
            raise ValueError("MQTT url must look like mqtt://host:port")
        _ = parts.port  # raises ValueError on a bad port
        return value

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 1883


class InfluxSettings(_Section):
    url: str | None = Field(
        default=None, description="InfluxDB base URL; unset: the embedded file-backed store"
    )
    api: Literal["v1", "v2"] = Field(
        default="v1", description="v1: /write + InfluxQL (1.x, 2.x DBRP, 3.x); v2: /api/v2/write"
    )
    database: str = Field(default="anxin", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    username: str | None = None
    password: SecretStr | None = None
    org: str | None = None
    bucket: str | None = None
    token: SecretStr | None = None
    batch_size: int = Field(default=5000, ge=1, le=100_000, description="points per write")
    linger_ms: int = Field(default=50, ge=0, le=60_000, description="wait to fill a batch")
    retry_max_s: float = Field(default=30, gt=0, le=3600, description="longest backoff step")
    spool_max_mb: int = Field(default=1024, ge=1, description="on-disk spool bound while down")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError("InfluxDB url must be http:// or https://")
        return value.rstrip("/") if value else value


class KafkaSettings(_Section):
    bootstrap: str | None = Field(
        default=None, description="host:port[,host:port]; unset: processing runs in-process"
    )
    telemetry_topic: str = "anxin.telemetry"
    deadletter_topic: str = "anxin.deadletter"
    detections_topic: str = "anxin.detections"


class AlertsSettings(_Section):
    """Escalation, notification channels and matching (CONTRACT §2-§3 defaults)."""

    dispatcher_tiers: int = Field(default=2, ge=1, le=9, description="dispatcher rungs first")
    webhook_url: str | None = Field(
        default=None, description="POST every notification here (an SMS or push gateway)"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="signs each webhook body (x-anxin-signature: sha256=...)"
    )
    mqtt_username: str = Field(
        default="anxin-dispatch",
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="broker account publishing offers to workers (its own: one login, one client)",
    )
    mqtt_password: SecretStr = SecretStr(PLACEHOLDER)
    radius_m: float = Field(default=3000, ge=100, le=50_000, description="matching radius")
    max_active_jobs: int = Field(default=3, ge=1, le=50, description="workload cap per worker")
    offer_timeout_critical_s: int = Field(default=60, ge=5, le=3600)
    offer_timeout_s: int = Field(default=300, ge=5, le=86_400)
    booking_lead_h: float = Field(
        default=2, gt=0, le=72, description="bookings become dispatches this long ahead"
    )

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("webhook url must be http:// or https://")
        return value


class DatabaseSettings(_Section):
    url: str | None = Field(
        default=None, description="SQLAlchemy URL; unset: SQLite in the data dir"
    )


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65_535)
    token_secret: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="signs access tokens; unset: a random one kept in the data dir",
    )
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=7, ge=1, le=90)
    cors_origins: tuple[str, ...] = Field(
        default=(), description="origins allowed to call the API from a browser; none: off"
    )
    max_body_bytes: int = Field(default=1 << 20, ge=1024, le=64 << 20)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ANXIN_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Field(default=Path("anxin-data"), description="embedded stores and spool")
    log_format: Literal["auto", "json", "console"] = "auto"
    admin_password: SecretStr | None = None
    mqtt: MqttSettings = MqttSettings()
    influx: InfluxSettings = InfluxSettings()
    kafka: KafkaSettings = KafkaSettings()
    database: DatabaseSettings = DatabaseSettings()
    alerts: AlertsSettings = AlertsSettings()
    http: HttpSettings = HttpSettings()

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{(self.data_dir / 'anxin.db').resolve()}"


class SettingsError(Exception):
    """Settings that must not be used as given."""


def check_secrets(settings: Settings) -> None:
    """Refuse placeholder secrets outside development: a default password is no password."""
    if settings.environment != "production":
        return
    if settings.mqtt.password.get_secret_value() == PLACEHOLDER:
        raise SettingsError("ANXIN_MQTT__PASSWORD is still the placeholder")
    if settings.admin_password is None or len(settings.admin_password.get_secret_value()) < 12:
        raise SettingsError("ANXIN_ADMIN_PASSWORD must be set (12+ characters) in production")
