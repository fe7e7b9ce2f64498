"""`GET /api/v1/alerts/stream`: alert changes as Server-Sent Events, resumable without loss.

Each change is one event::

    id: 1234
    event: alert
    data: {"alert_id": "...", "home_id": "h1", "kind": "sos", "status": "open", ...}

`id` is the change's `alert_events` id, increasing. A client that reconnects
with `Last-Event-ID` (EventSource sends it by itself; or `?last_event_id=` on a
first connection) first gets every change after that id from the database, then
the live ones. The live subscription is opened *before* the database is read,
so a change committed meanwhile arrives live rather than falling between the
two, and ids already sent are skipped, so none arrives twice. Ids come from one
sequence but concurrent transactions may commit out of id order: the stream
remembers the ids it sent instead of skipping everything at or below the
newest, so a late, lower id is still delivered. When the live queue overflows
(a slow client) the `Gap` is filled from the database the same way; only a
client that had nothing yet and gave no `Last-Event-ID` cannot be caught up,
and is sent `event: reset` to reload instead.

A comment (`: keepalive`) goes out every `HEARTBEAT_S` seconds so proxies keep
the connection; a client that goes away ends its stream and its subscription.

Authentication: the bearer header, or `?access_token=` because a browser's
EventSource cannot set headers. Dispatchers and admins see every home, a family
its own homes only (checked on each change, and in the database replay).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Callable
from typing import Annotated, Final

import structlog
from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse

from alerts.notifiers.stream import AlertChange, Broadcast, Gap, StreamClosed
from api.context import Ctx
from api.deps import audit, not_found, stream_account, visible_homes
from api.schemas.common import problems
from records.accounts import Account
from records.alerts import AlertStore

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=problems(401, 404, 422))
log = structlog.get_logger("anxin.api")

HEARTBEAT_S: float = 15.0
"""Seconds between keep-alive comments (tests shorten it)."""
RETRY_MS: Final = 3000
"""How long EventSource waits before reconnecting."""
REMEMBERED: Final = 4096
"""How many sent ids a stream remembers to skip duplicates (out-of-order commits are
never further apart than this)."""
PAGE: Final = 1000
MAX_EVENT_ID: Final = 2**63 - 1
"""What either database can compare an id with."""

Item = tuple[int, AlertChange]


def _reader(account: Annotated[Account, Depends(stream_account)]) -> Account:
    if account.role not in ("admin", "dispatcher", "family"):
        raise not_found()
    return account


StreamReader = Annotated[Account, Depends(_reader)]


class _Sent:
    """The ids sent lately: a set for lookups, a queue for forgetting the oldest."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._order: deque[int] = deque()
        self._ids: set[int] = set()
        self._size = size

    def __contains__(self, event_id: int) -> bool:
        return event_id in self._ids

    def add(self, event_id: int) -> None:
        self._order.append(event_id)
        self._ids.add(event_id)
        if len(self._order) > self._size:
            self._ids.discard(self._order.popleft())

    @property
    def floor(self) -> int | None:
        """Below the oldest id remembered: where a database replay must start."""
        return min(self._ids) - 1 if self._ids else None


def event(event_id: int, change: AlertChange) -> bytes:
    """One SSE event; the JSON has no newline, so `data` is one line."""
    return f"id: {event_id}\nevent: alert\ndata: {change.model_dump_json()}\n\n".encode()


async def alert_events(
    changes: Broadcast[Item],
    store: AlertStore,
    *,
    home_ids: tuple[str, ...] | None,
    last_event_id: int | None,
) -> AsyncGenerator[bytes, None]:
    """The stream's bytes: a replay after `last_event_id`, then live changes, with
    keep-alives. It subscribes when iteration starts (so a response never sent holds
    no subscription), before reading the database, and unsubscribes when it ends."""
    sent = _Sent()

    async def unsent_page(after: int) -> tuple[list[bytes], int | None]:
        """The events of one page of stored changes after `after` not sent yet, and
        where the next page starts (None: this was the last)."""
        page = await asyncio.to_thread(store.changes_after, after, home_ids=home_ids, limit=PAGE)
        chunks = []
        for event_id, change in page:
            if event_id not in sent:
                sent.add(event_id)
                chunks.append(event(event_id, change))
        return chunks, page[-1][0] if len(page) == PAGE else None

    try:
        with changes.subscribe(_accepts(home_ids)) as live:
            yield f"retry: {RETRY_MS}\n\n".encode()
            replay_from = last_event_id
            while True:
                while replay_from is not None:
                    chunks, replay_from = await unsent_page(replay_from)
                    for chunk in chunks:
                        yield chunk
                try:
                    item = await asyncio.wait_for(live.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                if isinstance(item, Gap):
                    replay_from = sent.floor if sent.floor is not None else last_event_id
                    if replay_from is None:
                        yield f'event: reset\ndata: {{"lost": {item.lost}}}\n\n'.encode()
                    continue
                event_id, change = item
                if event_id not in sent:
                    sent.add(event_id)
                    yield event(event_id, change)
    except StreamClosed:  # the process is shutting down
        return
    except Exception:  # the client reconnects with its Last-Event-ID and loses nothing
        log.exception("alert_stream_failed")


def _accepts(home_ids: tuple[str, ...] | None) -> Callable[[Item], bool] | None:
    if home_ids is None:
        return None
    homes = frozenset(home_ids)
    return lambda item: item[1].home_id in homes


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`id: <event id>`, `event: alert`, `data: <AlertChange JSON>`",
        }
    },
)
async def stream_alerts(
    ctx: Ctx,
    account: StreamReader,
    last_event_id_header: Annotated[
        int | None,
        Header(alias="Last-Event-ID", ge=0, le=MAX_EVENT_ID, description="resume after this id"),
    ] = None,
    last_event_id: Annotated[
        int | None,
        Query(ge=0, le=MAX_EVENT_ID, description="resume after this id (the header wins)"),
    ] = None,
) -> StreamingResponse:
    """Server-Sent Events of alert changes: every home for dispatchers, a family's own.

    Each event: `id: <event id>`, `event: alert`, `data: <AlertChange as one line of JSON>`.
    Authenticate with the bearer header, or `?access_token=<access token>` from a
    browser's EventSource. Reconnecting with `Last-Event-ID` (or `?last_event_id=`)
    replays what was missed first. `: keepalive` comments come every 15 s; an
    `event: reset` means changes were lost and the client should reload its list.
    """
    home_ids = visible_homes(account)
    after = last_event_id_header if last_event_id_header is not None else last_event_id
    await audit(
        ctx,
        account,
        "open_alert_stream",
        target=",".join(home_ids or ())[:200],
        detail=f"last_event_id={after if after is not None else '-'}",
    )
    return StreamingResponse(
        alert_events(ctx.changes, ctx.alerts, home_ids=home_ids, last_event_id=after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
