"""A real Mosquitto broker on a free port, configured by the caller's text."""

from __future__ import annotations

from pathlib import Path

from anxin.testbed.process import ServerProcess, ensure_debian_package, free_port, wait_for_port


class Mosquitto:
    """Mosquitto with `config` (no listener lines: this adds one on `port`)."""

    def __init__(self, workdir: Path, config: str, port: int | None = None) -> None:
        self.binary = ensure_debian_package("mosquitto", "mosquitto")
        self.workdir = workdir
        self.port = port or free_port()
        self.config_path = workdir / "mosquitto.conf"
        self.config_path.write_text(f"listener {self.port} 127.0.0.1\n{config}")
        self._server = ServerProcess(
            [self.binary, "-c", str(self.config_path)], log=workdir / "mosquitto.log"
        )

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        wait_for_port(self.port, process=self._server.start())

    def reload(self) -> None:
        """SIGHUP: Mosquitto re-reads its password and ACL files."""
        import signal

        assert self._server.process is not None
        self._server.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        self._server.stop()
