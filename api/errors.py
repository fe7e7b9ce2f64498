"""Domain errors as HTTP answers: JSON naming the problem, never a 500 for bad input."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from alerts.model import IllegalTransition
from records.accounts import AccountError
from records.alerts import AlertNotFound
from records.devices import RegistryError

log = structlog.get_logger("anxin.api")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AlertNotFound)
    async def _not_found(_request: Request, _error: Exception) -> JSONResponse:
        return JSONResponse({"detail": "not found"}, status_code=404)

    @app.exception_handler(IllegalTransition)
    async def _conflict(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.exception_handler(AccountError)
    @app.exception_handler(RegistryError)
    async def _refused(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.exception_handler(ValueError)
    async def _invalid(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("request_failed", path=request.url.path, error=type(error).__name__)
        return JSONResponse({"detail": "internal error"}, status_code=500)
