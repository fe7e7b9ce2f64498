"""The HTTP application: operators' routes, and with an `ApiContext` the whole API.

Closed by default: CORS only for the origins configured, security headers on
every answer, request bodies capped, no interactive docs (the OpenAPI document
is at `/openapi.json`).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from api.context import ApiContext
from api.errors import install_error_handlers
from api.health import Readiness
from api.middleware import BodyLimit, SecurityHeaders
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

MAX_BODY_BYTES = 1 << 20


def create_app(
    *,
    readiness: Readiness,
    metrics: CollectorRegistry,
    context: ApiContext | None = None,
    cors_origins: Sequence[str] = (),
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    app = FastAPI(title="Anxin", version="0.1.0", docs_url=None, redoc_url=None)
    install_error_handlers(app)

    @app.get("/healthz", tags=["operators"])
    def healthz() -> JSONResponse:
        """200 once every service of this process is ready, else 503 naming the laggards."""
        services = readiness.snapshot()
        status = 200 if readiness.all_ready else 503
        return JSONResponse(
            {"ready": readiness.all_ready, "services": services}, status_code=status
        )

    @app.get("/metrics", tags=["operators"], response_class=PlainTextResponse)
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

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
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["authorization", "content-type", "last-event-id"],
        )
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
