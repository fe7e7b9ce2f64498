"""The HTTP application: operators' routes now; the families' and dispatchers' API joins it."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from api.health import Readiness


def create_app(*, readiness: Readiness, metrics: CollectorRegistry) -> FastAPI:
    app = FastAPI(title="Anxin", version="0.1.0", docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """200 once every service of this process is ready, else 503 naming the laggards."""
        services = readiness.snapshot()
        status = 200 if readiness.all_ready else 503
        return JSONResponse(
            {"ready": readiness.all_ready, "services": services}, status_code=status
        )

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    return app
