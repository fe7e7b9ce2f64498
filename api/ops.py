"""The operators' HTTP surface every service serves, and the defences every app wears.

`anxin gateway` serves only this (`/healthz`, `/metrics`): it does not import the API's
routes and the alert and dispatch services behind them, which it never uses and whose
modules would stay in its memory. `api.app.create_app` builds the whole API on it.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from api.health import Readiness
from api.middleware import BodyLimit, SecurityHeaders

MAX_BODY_BYTES = 1 << 20


def operators_app(*, readiness: Readiness, metrics: CollectorRegistry) -> FastAPI:
    """An app with the operators' routes only."""
    app = FastAPI(title="Anxin", version="0.1.0", docs_url=None, redoc_url=None)

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

    return app


def closed_by_default(
    app: FastAPI, *, cors_origins: Sequence[str] = (), max_body_bytes: int = MAX_BODY_BYTES
) -> FastAPI:
    """CORS only for the origins configured, bodies capped, security headers on every
    answer (outermost, so a refused body or a CORS answer carries them too)."""
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
