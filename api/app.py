"""The HTTP application: operators' routes, and with an `ApiContext` the whole API.

Closed by default: CORS only for the origins configured, security headers on
every answer, request bodies capped, no interactive docs (the OpenAPI document
is at `/openapi.json`).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from api.context import ApiContext
from api.errors import install_error_handlers
from api.health import Readiness
from api.middleware import BodyLimit, SecurityHeaders
from api.routes import auth

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

    @app.get("/metrics", tags=["operators"])
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    if context is not None:
        app.state.context = context
        app.include_router(auth.router)
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
