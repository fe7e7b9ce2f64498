"""The HTTP application: operators' routes, and with an `ApiContext` the whole API.

Closed by default: CORS only for the origins configured, security headers on
every answer, request bodies capped, no interactive docs (the OpenAPI document
is at `/openapi.json`).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from api.context import ApiContext
from api.errors import install_error_handlers
from api.health import Readiness
from api.ops import MAX_BODY_BYTES, closed_by_default, operators_app
from api.routes import (
    alerts,
    audit,
    auth,
    bookings,
    dispatches,
    homes,
    me,
    provisioning,
    stream,
    workers,
)
from api.routes.console import install_console


def create_app(
    *,
    readiness: Readiness,
    metrics: CollectorRegistry,
    context: ApiContext | None = None,
    cors_origins: Sequence[str] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    app = operators_app(readiness=readiness, metrics=metrics)
    install_error_handlers(app)
    if context is not None:
        app.state.context = context
        app.include_router(auth.router)
        app.include_router(stream.router)  # before alerts: `/alerts/stream` is not an alert id
        app.include_router(alerts.router)
        app.include_router(homes.router)
        app.include_router(provisioning.router)
        app.include_router(audit.router)
        app.include_router(me.router)
        app.include_router(dispatches.router)
        app.include_router(workers.router)
        app.include_router(bookings.router)
        install_console(app)
    return closed_by_default(app, cors_origins=cors_origins, max_body_bytes=max_body_bytes)
