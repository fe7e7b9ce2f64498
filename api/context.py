"""What the routes work with: the stores and services of this process, built once.

`anxin up` and `anxin api` build an `ApiContext` and hand it to `create_app`;
routes reach it through the `Ctx` dependency, never through globals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request

from alerts.dispatching import DispatchService
from alerts.notifiers.base import Notification
from alerts.notifiers.ratelimit import RateLimiter, RatePolicy
from alerts.notifiers.stream import AlertChange, Broadcast
from alerts.service import AlertService
from api.tokens import TokenIssuer
from gateway.timeseries import TimeSeriesReader
from records.accounts import AccountStore
from records.alerts import AlertStore
from records.audit import AuditLog
from records.devices import DeviceRegistry
from records.homes import HomeStore


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _login_limiter() -> RateLimiter:
    return RateLimiter(RatePolicy(burst=10, per=timedelta(minutes=5)))


def _verify_limiter() -> RateLimiter:
    return RateLimiter(RatePolicy(burst=20, per=timedelta(minutes=10)))


@dataclass
class ApiContext:
    tokens: TokenIssuer
    accounts: AccountStore
    homes: HomeStore
    registry: DeviceRegistry
    alerts: AlertStore
    alert_service: AlertService
    dispatching: DispatchService
    changes: Broadcast[tuple[int, AlertChange]]
    notifications: Broadcast[Notification]
    audit: AuditLog
    timeseries: TimeSeriesReader
    clock: Callable[[], datetime] = _utc_now
    logins: RateLimiter = field(default_factory=_login_limiter)
    """Login attempts per username and per client address: 10, refilled over 5 minutes."""
    verifications: RateLimiter = field(default_factory=_verify_limiter)
    """Credential-code checks per client address: 20, refilled over 10 minutes (a family
    checks one card at the door; nobody may walk the code space)."""


def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


Ctx = Annotated[ApiContext, Depends(get_context)]
