"""Starting and stopping a server process, and installing it when it is missing."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ensure_debian_package(package: str, binary: str) -> str:
    """The path of `binary`, installing `package` with apt-get first if needed."""

    def find() -> str | None:
        sbin = Path(f"/usr/sbin/{binary}")
        return shutil.which(binary) or (str(sbin) if sbin.exists() else None)

    found = _installed(package, find)
    if found is None:
        raise RuntimeError(f"{package} installed but {binary} not found")
    return found


def ensure_debian_file(package: str, path: Path) -> Path:
    """`path`, a file of `package` (a font, say), installing the package first if needed."""
    if _installed(package, lambda: str(path) if path.exists() else None) is None:
        raise RuntimeError(f"{package} installed but {path} not found")
    return path


def _installed(package: str, find: Callable[[], str | None]) -> str | None:
    """What `find` finds, after `apt-get install package` (and an update, if the package
    lists are stale) when it finds nothing at first."""
    found = find()
    if found:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", package]
    subprocess.run(install, check=False, env=env, stdout=subprocess.DEVNULL)
    found = find()
    if found:
        return found
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(install, check=True, env=env, stdout=subprocess.DEVNULL)
    return find()


def wait_for_port(port: int, *, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on port {port} within {timeout} s")


def answers(
    url: str,
    status: int,
    *,
    alive: Callable[[], bool],
    timeout_s: float,
    interval_s: float = 0.1,
) -> bool:
    """Poll `url` until it answers `status`: True then; False if `alive()` turns false or
    `timeout_s` passes first (the caller names the server and its log)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and alive():
        try:
            if httpx.get(url, timeout=1).status_code == status:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(interval_s)
    return False


class ServerProcess:
    """A child server with its log in a file; stop() is safe to call twice."""

    def __init__(self, argv: list[str], *, log: Path, env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.log = log
        self._env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                self.argv,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=self._env,
                start_new_session=True,
            )
        return self.process

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
