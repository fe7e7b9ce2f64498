"""Debian's Chromium driven by Playwright, and the screenshots kept as test artefacts.

Playwright's own browser download cannot work here (no internet); the Python package
only drives the `chromium` Debian package, installed with apt-get when missing (with a
CJK font, so the Chinese console is legible in the screenshots).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from playwright.sync_api import Browser, Page, Playwright

from anxin.testbed.process import ensure_debian_file, ensure_debian_package

ARTIFACTS: Final = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e-console"
"""Screenshots of each step (git-ignored; CI keeps them in the workspace)."""
CJK_FONT: Final = ("fonts-wqy-microhei", Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"))
"""Chromium draws Chinese text only with a CJK font on the machine (Debian ships none
by default)."""

FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these, Chromium keeps calling out to Google's services, which this
    # machine's closed network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch(playwright: Playwright) -> Browser:
    executable = ensure_debian_package("chromium", "chromium")
    ensure_debian_file(*CJK_FONT)
    return playwright.chromium.launch(executable_path=executable, args=list(FLAGS))


class Screenshots:
    """Numbered full-page screenshots in `directory`, emptied first."""

    def __init__(self, directory: Path = ARTIFACTS) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self.directory = directory
        self._count = 0

    @contextmanager
    def step(self, page: Page, name: str) -> Iterator[None]:
        """Run a step of the scenario, then keep what the page shows; on failure keep
        that too (named `…-FAILED`) before the error goes on."""
        try:
            yield
        except BaseException:
            self._take(page, f"{name}-FAILED")
            raise
        self._take(page, name)

    def _take(self, page: Page, name: str) -> None:
        self._count += 1
        page.screenshot(path=self.directory / f"{self._count:02d}-{name}.png", full_page=True)
