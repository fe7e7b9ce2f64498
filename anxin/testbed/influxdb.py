"""A real InfluxDB 1.x (Debian's `influxdb`) on free ports with data in a temp dir."""

from __future__ import annotations

from pathlib import Path

import httpx

from anxin.testbed.process import ServerProcess, answers, ensure_debian_package, free_port


class InfluxDB:
    def __init__(self, workdir: Path) -> None:
        self.binary = ensure_debian_package("influxdb", "influxd")
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.rpc_port = free_port()
        config = workdir / "influxdb.conf"
        config.write_text(
            f"""
reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{workdir}/meta"
[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
"""
        )
        self._server = ServerProcess(
            [self.binary, "-config", str(config)], log=workdir / "influxd.log"
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        process = self._server.start()
        if answers(
            f"{self.url}/ping", 204, alive=lambda: process.poll() is None, timeout_s=timeout
        ):
            return
        if process.poll() is not None:
            raise RuntimeError("influxd exited at start; see " + str(self._server.log))
        raise TimeoutError("influxd did not answer /ping")

    def stop(self) -> None:
        self._server.stop()

    def query(self, database: str, influxql: str) -> list[list[object]]:
        """Rows of the first series of the first statement (empty when none)."""
        response = httpx.get(
            f"{self.url}/query", params={"db": database, "q": influxql}, timeout=30
        )
        response.raise_for_status()
        result = response.json()["results"][0]
        series = result.get("series") or []
        return [row for one in series for row in one["values"]]

    def count(self, database: str, measurement: str) -> int:
        rows = self.query(database, f'SELECT count(seq) FROM "{measurement}"')
        return int(rows[0][1]) if rows else 0  # type: ignore[call-overload]
