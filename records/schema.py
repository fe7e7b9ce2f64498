"""The relational records, one SQLAlchemy table each: what the platform must not forget.

Time series live in InfluxDB; everything people act on lives here: homes and
their devices, care workers, accounts, alerts with their full history, the
detections already applied (so a redelivered detection changes nothing),
dispatches with every offer, family bookings and every notification sent.
Alembic migrations in `records/migrations` build exactly this schema; a test
checks that they agree.

History tables (`alert_events`, `dispatch_events`) take ids from one
increasing sequence each, so a reader can resume after the last id it saw
(the console's Server-Sent Events use it as `Last-Event-ID`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(64)
"""Every id matches `^[A-Za-z0-9_-]{1,64}$` (devices.envelope.ID_PATTERN)."""


class Base(DeclarativeBase):
    pass


def _utc() -> DateTime:
    return DateTime(timezone=True)


def as_utc(value: datetime) -> datetime:
    """An aware time in UTC, as every column holds it."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return value.astimezone(UTC)


def from_column(value: datetime) -> datetime:
    """A time read from a column: SQLite hands it back without its (UTC) offset."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class HomeRow(Base):
    __tablename__ = "homes"

    home_id: Mapped[str] = mapped_column(ID, primary_key=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    timezone: Mapped[str] = mapped_column(String(64))
    away: Mapped[bool] = mapped_column(Boolean, default=False)
    resident: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """name, birth_year, conditions."""
    emergency_contacts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    changed_at: Mapped[datetime | None] = mapped_column(_utc(), nullable=True, index=True)
    """When the home was created or last changed (None: before migration 0002), so the
    processors reload only what changed."""


class DeviceRow(Base):
    __tablename__ = "devices"

    device_id: Mapped[str] = mapped_column(ID, primary_key=True)
    home_id: Mapped[str] = mapped_column(ForeignKey("homes.home_id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    room: Mapped[str | None] = mapped_column(String(64), nullable=True)
    appliance: Mapped[str | None] = mapped_column(String(64), nullable=True)
    report_interval_s: Mapped[int] = mapped_column(Integer)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(_utc())


class WorkerRow(Base):
    __tablename__ = "workers"

    worker_id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    skills: Mapped[list[Any]] = mapped_column(JSON)
    credential_code: Mapped[str] = mapped_column(String(64), unique=True)
    """One person, one code: a family can verify who is at the door."""
    credential_expires: Mapped[date] = mapped_column(Date)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    on_shift: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[float] = mapped_column(Float, default=0.0)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)


class AccountRow(Base):
    """A login: admin, dispatcher (with an escalation tier), family or worker."""

    __tablename__ = "accounts"

    username: Mapped[str] = mapped_column(ID, primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    tier: Mapped[int | None] = mapped_column(Integer, nullable=True)
    worker_id: Mapped[str | None] = mapped_column(
        ForeignKey("workers.worker_id"), nullable=True, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(_utc())


class FamilyHomeRow(Base):
    """Which homes a family account may see."""

    __tablename__ = "family_homes"

    username: Mapped[str] = mapped_column(ForeignKey("accounts.username"), primary_key=True)
    home_id: Mapped[str] = mapped_column(ForeignKey("homes.home_id"), primary_key=True)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status_opened", "status", "opened_at"),)

    alert_id: Mapped[str] = mapped_column(ID, primary_key=True)
    home_id: Mapped[str] = mapped_column(ForeignKey("homes.home_id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    open_slot: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    """`home_id/kind` while the alert is active, else NULL: the database itself refuses a
    second active alert of a kind in a home."""
    opened_at: Mapped[datetime] = mapped_column(_utc())
    updated_at: Mapped[datetime] = mapped_column(_utc())
    next_escalation_at: Mapped[datetime | None] = mapped_column(_utc(), nullable=True, index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The whole `alerts.model.Alert` as it dumps to JSON (evidence, history, escalation)."""


class AlertEventRow(Base):
    """One record of an alert's history (who, when, why), with the alert as it then stood."""

    __tablename__ = "alert_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), index=True)
    home_id: Mapped[str] = mapped_column(ID, index=True)
    at: Mapped[datetime] = mapped_column(_utc())
    event: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500), default="")
    detection_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    level: Mapped[int | None] = mapped_column(Integer, nullable=True)
    change: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    """On the last record a transaction wrote: the alert's `AlertChange` after it, what
    the live stream sent with this id, so a console resuming after an id gets the same."""


class AppliedDetectionRow(Base):
    """A detection already applied: a redelivery finds it here and changes nothing."""

    __tablename__ = "applied_detections"

    detection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    applied_at: Mapped[datetime] = mapped_column(_utc())


class DispatchRow(Base):
    __tablename__ = "dispatches"
    __table_args__ = (
        Index("ix_dispatches_status", "status"),
        Index("ix_dispatches_offer_deadline", "offer_deadline"),
        UniqueConstraint("booking_id", "scheduled_for", name="uq_dispatches_booking_occurrence"),
    )

    dispatch_id: Mapped[str] = mapped_column(ID, primary_key=True)
    alert_id: Mapped[str | None] = mapped_column(
        ForeignKey("alerts.alert_id"), nullable=True, index=True
    )
    booking_id: Mapped[str | None] = mapped_column(
        ForeignKey("bookings.booking_id"), nullable=True, index=True
    )
    home_id: Mapped[str] = mapped_column(ForeignKey("homes.home_id"), index=True)
    service: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    origin: Mapped[str] = mapped_column(String(16))
    """`automatic`, `dispatcher` or `booking`: the SLA report leaves bookings out."""
    status: Mapped[str] = mapped_column(String(16))
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(_utc())
    scheduled_for: Mapped[datetime] = mapped_column(_utc())
    """When the service is due (creation time for "as soon as possible"). With
    `booking_id` unique: the database itself refuses a second dispatch for one
    occurrence of a booking."""
    offer_deadline: Mapped[datetime | None] = mapped_column(_utc(), nullable=True)
    """The open offer's deadline while `offered`, else NULL: the timer's query."""
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The whole dispatch as its pydantic model dumps it (offers, step times, notes, rating)."""


class DispatchEventRow(Base):
    __tablename__ = "dispatch_events"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dispatch_id: Mapped[str] = mapped_column(ForeignKey("dispatches.dispatch_id"), index=True)
    at: Mapped[datetime] = mapped_column(_utc())
    event: Mapped[str] = mapped_column(String(32))
    """The status reached (`offered`, `accepted`, ...), or `rated`."""
    worker_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """The worker the step concerns (offered to, declined by, ...)."""
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500), default="")


class BookingRow(Base):
    """A family's one-off or recurring service (weekly cleaning, daily meals, visits)."""

    __tablename__ = "bookings"

    booking_id: Mapped[str] = mapped_column(ID, primary_key=True)
    home_id: Mapped[str] = mapped_column(ForeignKey("homes.home_id"), index=True)
    service: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(_utc())
    scheduled_until: Mapped[datetime | None] = mapped_column(_utc(), nullable=True)
    """Occurrences up to here already have their dispatch."""
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The booking's schedule as its pydantic model dumps it."""


class NotificationRow(Base):
    """Every notification decided: sent, failed or suppressed by the rate limit."""

    __tablename__ = "notifications"

    notification_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    recipient: Mapped[str] = mapped_column(String(140))
    channel: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(_utc())
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500), default="")


class AuditRow(Base):
    """Who did what through the API, for the operator's audit trail."""

    __tablename__ = "audit_log"

    audit_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(_utc())
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
