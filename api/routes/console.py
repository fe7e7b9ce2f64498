"""The web console: `GET /` answers its page, `/static/...` its scripts, styles and dictionaries.

Plain files, no build step. The page is never cached, so a new release is picked
up on the next load; the console's own files are revalidated on every use (ETag);
vendored libraries live under a versioned folder (`vendor/leaflet-1.9.4/`), so
they can be cached for a year. Nothing is fetched from outside at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

STATIC: Final = Path(__file__).resolve().parent.parent / "static"

NO_STORE: Final = "no-store"
REVALIDATE: Final = "no-cache"
IMMUTABLE: Final = "public, max-age=31536000, immutable"


class ConsoleFiles(StaticFiles):
    """Static files with the caching each kind of file allows."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            vendored = Path(path).parts[:1] == ("vendor",)
            response.headers["cache-control"] = IMMUTABLE if vendored else REVALIDATE
        return response


def install_console(app: FastAPI) -> None:
    """Serve the console from this app: the page at `/`, its files under `/static`."""

    @app.get("/", include_in_schema=False)
    def console_page() -> FileResponse:
        return FileResponse(
            STATIC / "index.html", media_type="text/html", headers={"cache-control": NO_STORE}
        )

    app.mount("/static", ConsoleFiles(directory=STATIC), name="static")
