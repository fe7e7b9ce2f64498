"""Domain errors as HTTP answers: JSON naming the problem, never a 500 for bad input."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from alerts.dispatches import CheckInRejected, IllegalDispatchTransition, WrongWorker
from alerts.dispatching import NotEligible
from alerts.model import IllegalTransition
from alerts.rounds import HomeNotFound
from gateway.timeseries import TimeSeriesUnavailable
from records.accounts import AccountError
from records.alerts import AlertNotFound
from records.bookings import BookingError, BookingNotFound
from records.dispatches import DispatchNotFound
from records.errors import RegistryError
from records.workers import WorkerError, WorkerNotFound

log = structlog.get_logger("anxin.api")


def install_error_handlers(app: FastAPI) -> None:
    _document_422(app)

    @app.exception_handler(AlertNotFound)
    @app.exception_handler(DispatchNotFound)
    @app.exception_handler(WrongWorker)  # another worker's dispatch: as if it did not exist
    @app.exception_handler(WorkerNotFound)
    @app.exception_handler(HomeNotFound)
    @app.exception_handler(BookingNotFound)
    async def _not_found(_request: Request, _error: Exception) -> JSONResponse:
        return JSONResponse({"detail": "not found"}, status_code=404)

    @app.exception_handler(IllegalTransition)
    async def _conflict(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.exception_handler(AccountError)
    @app.exception_handler(RegistryError)
    @app.exception_handler(IllegalDispatchTransition)
    @app.exception_handler(WorkerError)
    @app.exception_handler(BookingError)
    async def _refused(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.exception_handler(TimeSeriesUnavailable)
    async def _unavailable(_request: Request, error: Exception) -> JSONResponse:
        log.warning("timeseries_unavailable", error=str(error)[:200])
        return JSONResponse(
            {"detail": "the time-series store is unavailable; try again shortly"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(NotEligible)
    async def _not_eligible(_request: Request, error: Exception) -> JSONResponse:
        reasons = error.reasons if isinstance(error, NotEligible) else []
        return JSONResponse({"detail": str(error), "reasons": reasons}, status_code=409)

    @app.exception_handler(CheckInRejected)
    async def _check_in(_request: Request, error: Exception) -> JSONResponse:
        reason = error.reason if isinstance(error, CheckInRejected) else None
        return JSONResponse({"detail": str(error), "reason": reason}, status_code=422)

    @app.exception_handler(ValidationError)
    async def _invalid_model(_request: Request, error: Exception) -> JSONResponse:
        # A model built from a client's values behind the edge (a worker moved off the map):
        # the problems by field, without echoing the values.
        detail = (
            error.errors(include_url=False, include_input=False, include_context=False)
            if isinstance(error, ValidationError)
            else str(error)
        )
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(ValueError)
    async def _invalid(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("request_failed", path=request.url.path, error=type(error).__name__)
        return JSONResponse({"detail": "internal error"}, status_code=500)


def _document_422(app: FastAPI) -> None:
    """Say in the OpenAPI document what a 422 carries: FastAPI's list of field problems
    for a request that does not validate, or one sentence naming the problem for a
    request that is well-formed but cannot be (a domain refusal, mapped above)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        document = build()  # FastAPI's own: built once, then cached on the app
        schemas = document.get("components", {}).get("schemas", {})
        problem = schemas.get("HTTPValidationError", {}).get("properties", {})
        if first and "detail" in problem:
            problem["detail"] = {
                "anyOf": [problem["detail"], {"type": "string"}],
                "title": "Detail",
            }
        return document

    app.openapi = openapi  # type: ignore[method-assign]
