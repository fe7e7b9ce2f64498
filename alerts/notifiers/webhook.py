"""A webhook channel: POST each notification as JSON to a configured URL.

SMS and push gateways plug in here (directly, or through a small relay). A delivery
that fails with a network error, a timeout, 429 or a 5xx is retried with exponential
backoff; another 4xx is the receiver refusing this message, which retrying will not
change. Nothing raises into the caller: a failure is logged and counted, and the
notifier's other channels carry on.

Each request carries `Idempotency-Key: <notification_id>` (a retry after a lost
response may deliver twice) and, with a secret configured, `X-Anxin-Signature:
sha256=<HMAC-SHA256 of the body>` so the receiver can check it came from us.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable, Callable

import httpx
import orjson
import structlog

from alerts.notifiers.base import Notification, RecipientKind

log = structlog.get_logger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class WebhookChannel:
    """POSTs notifications for some recipient kinds to one URL."""

    name = "webhook"

    def __init__(
        self,
        url: str,
        *,
        recipients: frozenset[RecipientKind] = frozenset(
            {"dispatcher", "family", "emergency_contact"}
        ),
        secret: str | None = None,
        timeout: float = 5.0,
        attempts: int = 4,
        backoff: float = 0.5,
        backoff_max: float = 8.0,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.url = url
        self.recipients = recipients
        self._secret = secret.encode() if secret else None
        self.attempts = attempts
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self._sleep = sleep
        self.sent = 0
        self.failed = 0
        self.retries = 0

    def accepts(self, notification: Notification) -> bool:
        return notification.recipient.kind in self.recipients

    async def send(self, notification: Notification) -> bool:
        """Deliver with retries; True once the receiver answered 2xx."""
        body = orjson.dumps(notification.model_dump(mode="json"))
        headers = {
            "content-type": "application/json",
            "idempotency-key": notification.notification_id,
        }
        if self._secret is not None:
            digest = hmac.new(self._secret, body, hashlib.sha256).hexdigest()
            headers["x-anxin-signature"] = f"sha256={digest}"
        bound = log.bind(
            notification_id=notification.notification_id,
            alert_id=notification.alert_id,
            recipient=notification.recipient.key,
        )
        problem = ""
        for attempt in range(1, self.attempts + 1):
            delay = min(self.backoff * 2 ** (attempt - 1), self.backoff_max)
            try:
                response = await self._client.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # never into the caller, whatever the transport does
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    self.sent += 1
                    return True
                problem = f"HTTP {response.status_code}"
                if response.status_code not in RETRYABLE_STATUS:
                    break
                delay = max(delay, _retry_after(response, self.backoff_max))
            if attempt < self.attempts:
                self.retries += 1
                bound.info("webhook_retry", attempt=attempt, problem=problem, delay_s=delay)
                await self._sleep(delay)
        self.failed += 1
        bound.warning("webhook_failed", problem=problem, attempts=attempt)
        return False

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _retry_after(response: httpx.Response, cap: float) -> float:
    """A `Retry-After` in whole seconds, capped; 0 when absent or a date (not worth parsing)."""
    value = response.headers.get("retry-after", "").strip()
    return min(float(value), cap) if value.isascii() and value.isdigit() else 0.0
