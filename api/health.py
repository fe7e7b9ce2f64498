"""Readiness of the services in this process, for `GET /healthz`."""

from __future__ import annotations


class Readiness:
    """Each service registers itself not-ready at start and marks itself ready when it is."""

    def __init__(self) -> None:
        self._services: dict[str, bool] = {}

    def expect(self, service: str) -> None:
        self._services.setdefault(service, False)

    def ready(self, service: str, is_ready: bool = True) -> None:
        self._services[service] = is_ready

    @property
    def all_ready(self) -> bool:
        return bool(self._services) and all(self._services.values())

    def snapshot(self) -> dict[str, bool]:
        return dict(self._services)
